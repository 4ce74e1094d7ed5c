"""Dose amounts: integer micrograms in storage, milligrams at the edges."""

from decimal import Decimal, InvalidOperation

UG_PER_MG = 1000


def mg_to_ug(value: object) -> int:
    """Convert a milligram amount with at most 3 decimals to integer micrograms."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    ug = amount * UG_PER_MG
    if ug != ug.to_integral_value():
        raise ValueError("at most 3 decimals")
    return int(ug)


def ug_to_mg(ug: int) -> int | float:
    """Convert integer micrograms to a JSON number of milligrams (4500 -> 4.5)."""
    if ug % UG_PER_MG == 0:
        return ug // UG_PER_MG
    # float repr is the shortest round-trip form, so 4500/1000 prints 4.5.
    return ug / UG_PER_MG
