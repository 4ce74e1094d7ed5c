"""Which patient a clinician may reach, and the audit of their reads: one rule for the API and the pages."""

import functools
import inspect

from diary import audit, auth, people
from diary.db import write
from diary.errors import abort


def clinic_patient(action=None, *, current_clinician=None):
    """Give a view taking ``patient_id`` the clinician's own clinic patient instead, audited as ``action``.

    The view is called with ``patient`` (a dict) in place of ``patient_id``, and
    with ``clinician`` too when its signature names it. A patient of another
    clinic, or none, is 404: the two cannot be told apart. When ``action`` is
    given, an answer that succeeds appends one audit row; a refusal appends none.
    ``current_clinician`` returns the signed-in clinician (or stops the request);
    the API's bearer-token check is the default, a page passes its session check.
    """

    def decorator(view):
        wants_clinician = "clinician" in inspect.signature(view).parameters

        @functools.wraps(view)
        def wrapper(*args, patient_id, **kwargs):
            clinician = (current_clinician or auth.require_clinician)()
            conn = auth.app_conn()
            patient = people.get_clinic_patient(conn, clinician["clinic_id"], patient_id)
            if patient is None:
                abort(404, "No such patient.")
            if wants_clinician:
                kwargs["clinician"] = clinician
            result = view(*args, patient=patient, **kwargs)
            if action is not None:
                with write(conn):
                    audit.clinician_read(conn, clinician, action, patient["id"])
            return result

        # Read by tests/test_shape.py: every clinician route of one patient goes through here.
        wrapper.clinic_patient_action = action
        return wrapper

    return decorator
