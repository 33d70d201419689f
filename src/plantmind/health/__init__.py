"""Asset health: health index, remaining useful life with intervals, and failure probability,
trained from run-to-failure histories (``history``, ``rul``, ``artifact``) and followed live
on the edge (``live``). Never imports the apps."""
