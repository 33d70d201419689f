"""The compliance bench's own corpus, written by the project (no shared data copied): gold
requirement lists, a made-up regulation in the eCFR's inline layout, and plant procedures
with known gaps.

* :mod:`.gold_1910_147`: the requirements of 29 CFR 1910.147 (the regulation's text is the
  team's shared data, read from where the user says; only designators and short cues here);
* :mod:`.ecfr_inline`: a made-up process-safety regulation (``TEXT``) and its requirements;
* :mod:`.gaps`: three procedures under ``sops/`` written the way a plant writes them, with
  the requirements each leaves out on purpose (``gaps``), meets in part and meets;
  ``lockout_checklist`` is a lockbox, evaluated once.
"""
