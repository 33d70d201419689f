"""The units a plant writes (length, mass, pressure, temperature, torque, force, time,
counts), in
the spellings of the languages we read, and conversion between units of one kind.

A hand-written table rather than ``pint``: we need the spellings suppliers use ("Stück",
"pièces", "毫米", "3/8\"") and the count units, which pint does not know, and only linear
conversions plus the temperature offsets; a registry of thousands of units would add
ambiguity ("in", "t", "K" are words too) without adding a unit a plant writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

__all__ = ["KINDS", "Unit", "convert", "lookup", "unit_pattern"]

KINDS = ("length", "mass", "pressure", "temperature", "torque", "force", "time", "count")


@dataclass(frozen=True, slots=True)
class Unit:
    """``symbol``: the canonical spelling; ``kind``; ``factor`` and ``offset`` map a value to
    the kind's base unit (mm, kg, bar, °C, N·m, N, s, pcs): ``base = value * factor + offset``."""

    symbol: str
    kind: str
    factor: float
    offset: float = 0.0

    def to_base(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_base(self, value: float) -> float:
        return (value - self.offset) / self.factor


_TABLE: list[tuple[Unit, str]] = [
    # length (base mm)
    (Unit("mm", "length", 1.0), "mm|millimeter|millimeters|millimetre|millimetres|Millimeter|"
     "millimètre|millimètres|milímetro|milímetros|millimetro|millimetri|毫米|公厘"),
    (Unit("µm", "length", 1e-3), "µm|μm|um|micron|microns|micrometer|micrometre|Mikrometer|"
     "micromètre|micrómetro|微米"),
    (Unit("cm", "length", 10.0), "cm|centimeter|centimeters|centimetre|centimetres|Zentimeter|"
     "centimètre|centimètres|centímetro|centímetros|厘米|公分"),
    (Unit("m", "length", 1000.0), "m|meter|meters|metre|metres|Meter|mètre|mètres|metro|metros|"
     "米|公尺"),
    (Unit("in", "length", 25.4), "in|inch|inches|\"|″|''|Zoll|zoll|pouce|pouces|pulgada|"
     "pulgadas|pollice|pollici|英寸|吋"),
    (Unit("ft", "length", 304.8), "ft|foot|feet|Fuß|pied|pieds|pie|pies|英尺|呎"),
    # mass (base kg)
    (Unit("mg", "mass", 1e-6), "mg|milligram|milligrams|Milligramm|milligramme|miligramo|毫克"),
    (Unit("g", "mass", 1e-3), "g|gram|grams|gramme|grammes|Gramm|gramo|gramos|grammo|grammi|克"),
    (Unit("kg", "mass", 1.0), "kg|kgs|kilogram|kilograms|kilogramme|kilogrammes|Kilogramm|"
     "kilogramo|kilogramos|chilogrammo|chilogrammi|kilo|kilos|公斤|千克"),
    (Unit("t", "mass", 1000.0), "t|tonne|tonnes|Tonne|Tonnen|tonelada|toneladas|吨|公吨"),
    (Unit("lb", "mass", 0.45359237), "lb|lbs|pound|pounds|livre|livres|libra|libras|磅"),
    (Unit("oz", "mass", 0.028349523125), "oz|ounce|ounces|Unze|once|onza|onzas|盎司"),
    # pressure (base bar)
    (Unit("bar", "pressure", 1.0), "bar|bars|巴"),
    (Unit("mbar", "pressure", 1e-3), "mbar|毫巴"),
    (Unit("Pa", "pressure", 1e-5), "Pa|帕"),
    (Unit("kPa", "pressure", 1e-2), "kPa|千帕"),
    (Unit("MPa", "pressure", 10.0), "MPa|兆帕"),
    (Unit("psi", "pressure", 0.0689475729), "psi|psig|PSI"),
    # temperature (base °C)
    (Unit("°C", "temperature", 1.0), "°C|° C|℃|degC|deg C|Grad Celsius|degrés Celsius|"
     "grados Celsius|摄氏度"),
    (Unit("°F", "temperature", 5 / 9, -32 * 5 / 9), "°F|° F|℉|degF|deg F|华氏度"),
    (Unit("K", "temperature", 1.0, -273.15), "K|kelvin|Kelvin"),
    # torque (base N·m)
    (Unit("N·m", "torque", 1.0), "N·m|N⋅m|N.m|N-m|Nm|N m|newton-meter|newton-metre|"
     "Newtonmeter|牛·米|牛米"),
    (Unit("kN·m", "torque", 1000.0), "kN·m|kN⋅m|kNm"),
    (Unit("lbf·ft", "torque", 1.3558179483), "lbf·ft|lbf-ft|lb·ft|lb-ft|lb ft|ft·lb|ft-lb|ft-lbs|"
     "ft·lbf|foot-pound|foot-pounds"),
    (Unit("lbf·in", "torque", 0.112984829), "lbf·in|lbf-in|lb·in|lb-in|in·lb|in-lb|in-lbs"),
    # force (base N)
    (Unit("N", "force", 1.0), "N|newton|newtons|Newton|牛"),
    (Unit("kN", "force", 1000.0), "kN|kilonewton|kilonewtons|千牛"),
    (Unit("lbf", "force", 4.4482216153), "lbf"),
    # time (base s)
    (Unit("s", "time", 1.0), "s|sec|second|seconds|Sekunde|Sekunden|seconde|secondes|segundo|"
     "segundos|秒"),
    (Unit("min", "time", 60.0), "min|minute|minutes|Minute|Minuten|minuto|minutos|分钟"),
    (Unit("h", "time", 3600.0), "h|hr|hrs|hour|hours|Stunde|Stunden|Std|heure|heures|hora|"
     "horas|ora|ore|小时"),
    # counts (base pcs)
    (Unit("pcs", "count", 1.0), "pcs|pc|piece|pieces|ea|units|unit|Stück|Stk|St|"
     "pièce|pièces|pces|pieza|piezas|pza|pzas|pz|pezzi|pezzo|peça|peças|pçs|stuks|stuk|"
     "szt|sztuk|uds|unidades|unidad|unités|unité|Stck|件|个|個|只|支|套"),
]  # fmt: skip

_ALIASES: dict[str, Unit] = {}
for _unit, _names in _TABLE:
    for _name in _names.split("|"):
        _ALIASES.setdefault(_name, _unit)
_FOLDED: dict[str, Unit] = {}
for _name, _unit in _ALIASES.items():
    # case-insensitive only where the case carries no meaning (mm/MM, Stück/stück);
    # "m"/"M", "t"/"T", "N"/"n", "g"/"G", "K"/"k", "Pa"/"pa" stay exact
    if len(_name) > 2 and _name.lower() not in ("mpa", "kpa"):
        _FOLDED.setdefault(_name.lower(), _unit)


def lookup(name: str) -> Unit | None:
    """The unit written ``name`` (exact spelling first, then case-insensitive for names
    longer than two letters), or None."""
    name = name.strip()
    return _ALIASES.get(name) or _FOLDED.get(name.lower())


@cache
def unit_pattern() -> str:
    """A regex alternation of every spelling, longest first, ending where a word ends
    (so "m" does not match the start of "mit"; CJK units need no boundary)."""
    names = sorted(_ALIASES, key=len, reverse=True)
    parts = []
    for n in names:
        esc = re.escape(n).replace(r"\ ", r"\s?")
        end_alnum = n[-1].isalnum() and not ("\u4e00" <= n[-1] <= "\u9fff")
        parts.append(esc + (r"(?![^\W_])" if end_alnum else ""))
    return "(?:" + "|".join(parts) + ")"


def convert(value: float, src: Unit, dst: Unit, *, difference: bool = False) -> float:
    """``value`` in ``src`` expressed in ``dst`` (same kind). ``difference``: a tolerance or
    an interval, which converts without the temperature offset."""
    if src.kind != dst.kind:
        raise ValueError(f"cannot convert {src.kind} ({src.symbol}) to {dst.kind} ({dst.symbol})")
    if difference:
        return value * src.factor / dst.factor
    return dst.from_base(src.to_base(value))
