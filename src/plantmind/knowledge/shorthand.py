"""Maintenance shorthand: the abbreviations technicians write in work orders and questions
("brg", "lkg", "rplc", "PM", "c/o") and their expansions.

The table is applied to documents and questions alike, so "brg lkg" in a work order meets
"bearing leaking" in a question. Written for plantmind from general maintenance usage; its
coverage was measured against the MaintNorm corpus (Bikaun et al., W-NUT 2024) without
copying from it.
"""

from __future__ import annotations

__all__ = ["SHORTHAND", "expand"]

# Keys are lower case; values are one or more words. An entry must be unambiguous in a
# maintenance text: "pm" there means preventive maintenance far more often than afternoon.
SHORTHAND: dict[str, str] = {
    # actions
    "rplc": "replace", "rplcd": "replaced", "rpld": "replaced", "replcd": "replaced", "repl": "replace", "rplce": "replace", "rpl": "replace",
    "replc": "replace", "r&r": "remove replace", "r/r": "remove replace",
    "rem": "remove", "rmv": "remove", "inst": "install", "instl": "install",
    "c/o": "change out", "c/out": "change out", "changeout": "change out",
    "chg": "change", "chng": "change", "insp": "inspect", "inspn": "inspection",
    "chk": "check", "chkd": "checked", "adj": "adjust", "adjt": "adjust",
    "calib": "calibrate", "cal": "calibrate", "lube": "lubricate", "lub": "lubricate",
    "tighten": "tighten", "tq": "torque", "trq": "torque", "svc": "service",
    "svce": "service", "serv": "service", "ovhl": "overhaul", "o/h": "overhaul",
    "inv": "investigate", "invest": "investigate", "diag": "diagnose",
    "tshoot": "troubleshoot", "t/s": "troubleshoot", "rep": "repair", "rpr": "repair",
    "fab": "fabricate", "clng": "cleaning", "cln": "clean",
    # states and symptoms
    "lkg": "leaking", "lk": "leak", "lking": "leaking", "lks": "leaks",
    "u/s": "unserviceable", "n/w": "not working", "inop": "inoperative",
    "brkn": "broken", "dmg": "damage", "dmgd": "damaged", "wrn": "worn",
    "vib": "vibration", "vibr": "vibration", "vibn": "vibration", "ovht": "overheat",
    "o/heat": "overheat", "hi": "high", "lo": "low", "exc": "excessive",
    "abn": "abnormal", "intmt": "intermittent", "intermit": "intermittent",
    "flt": "fault", "alm": "alarm", "malf": "malfunction", "blkd": "blocked",
    "contam": "contaminated",
    # parts and systems
    "brg": "bearing", "brgs": "bearings", "bearng": "bearing", "shft": "shaft",
    "mtr": "motor", "mot": "motor", "pmp": "pump", "vlv": "valve", "vlvs": "valves",
    "comp": "compressor", "cmpr": "compressor", "compr": "compressor",
    "gbx": "gearbox", "gb": "gearbox", "g/box": "gearbox", "cplg": "coupling",
    "cpl": "coupling", "hyd": "hydraulic", "pneu": "pneumatic", "elec": "electrical",
    "elect": "electrical", "mech": "mechanical", "eng": "engine", "gen": "generator",
    "trans": "transmission", "xmsn": "transmission", "assy": "assembly",
    "assm": "assembly", "cyl": "cylinder", "cyls": "cylinders", "filt": "filter",
    "fltr": "filter", "hx": "heat exchanger", "htr": "heater", "exh": "exhaust",
    "ign": "ignition", "carb": "carburetor", "mag": "magneto", "mags": "magnetos",
    "prop": "propeller", "props": "propellers", "sw": "switch", "sol": "solenoid",
    "xfmr": "transformer", "bkr": "breaker", "cb": "circuit breaker",
    "vfd": "variable frequency drive", "plc": "programmable logic controller",
    "hmi": "human machine interface", "psu": "power supply", "batt": "battery",
    "wtr": "water", "cw": "cooling water", "evap": "evaporator",
    "refrig": "refrigerant", "ahu": "air handling unit", "a/c": "air conditioning",
    "aircon": "air conditioning", "t/c": "torque converter", "diff": "differential",
    "ctrl": "control", "cntrl": "control", "sys": "system", "sens": "sensor",
    "xmtr": "transmitter", "tx": "transmitter", "blt": "belt", "blts": "belts", "gskt": "gasket", "o-ring": "o ring", "oring": "o ring",
    "lh": "left hand", "rh": "right hand", "l/h": "left hand", "r/h": "right hand",
    "lhs": "left hand side", "rhs": "right hand side", "lft": "left", "rht": "right",
    "cab": "cabin", "bkt": "bucket", "trk": "track", "a/con": "air conditioning",
    "gaurd": "guard", "guage": "gauge", "tranny": "transmission",
    "frt": "front", "frnt": "front", "pos": "position", "aux": "auxiliary",
    # quantities
    "temp": "temperature", "temps": "temperatures", "amp": "ampere", "amps": "amperes",
    "qty": "quantity", "hr": "hour", "hrs": "hours", "wk": "week", "mth": "month",
    "yr": "year", "approx": "approximately", "max": "maximum",
    # maintenance management
    "pm": "preventive maintenance", "pms": "preventive maintenance",
    "cm": "corrective maintenance", "pdm": "predictive maintenance",
    "wo": "work order", "w/o": "work order", "wos": "work orders",
    "sop": "standard operating procedure", "loto": "lockout tagout",
    "ppe": "personal protective equipment", "rca": "root cause analysis",
    "mtbf": "mean time between failures", "mttr": "mean time to repair",
    "oem": "original equipment manufacturer", "tbo": "time between overhaul",
    "maint": "maintenance", "mnt": "maintenance", "req": "required",
    "reqd": "required", "w/shop": "workshop", "wksp": "workshop",
    # engines and powerplants (general usage of engine shops, not from any question set)
    "cht": "cylinder head temperature", "egt": "exhaust gas temperature",
    "itt": "interstage turbine temperature", "oat": "outside air temperature",
    "recip": "reciprocating", "fadec": "full authority digital engine control",
    "fcu": "fuel control unit", "apu": "auxiliary power unit", "fod": "foreign object damage",
    "gov": "governor", "turbo": "turbocharger", "accy": "accessory", "mixt": "mixture",
    "intk": "intake", "bstr": "booster", "fwd": "forward", "dia": "diameter",
    }  # fmt: skip


def expand(token: str) -> list[str]:
    """The words ``token`` (lower case) stands for; ``[token]`` when it is not shorthand."""
    hit = SHORTHAND.get(token)
    return hit.split() if hit is not None else [token]
