"""Clinician trend reports: pure analysis first, then renderers (JSON, HTML, CSV, FHIR)."""
