"""symptom-diary: a patient symptom diary backend. Importing starts nothing."""

from diary.app import create_app

__all__ = ["create_app"]
