"""Gold gap labels for the evaluation procedures in ``sops/`` beside this module: for each plant
procedure, which requirements of its standard it leaves out on purpose, which it meets and
where, and which it meets only in part. They are the reference answers for
``plantmind comply check STANDARD PROCEDURES`` on these files ("missing", "covered",
"partial" per requirement).

The procedures were written the way a plant's EHS engineer writes them, in the plant's own
words and structure (equipment tags, roles, forms, intervals), not by paraphrasing the rule
clause by clause: no sentence shares six consecutive words with the regulation's text. They
were written without reading the gap-finding code.

The standards:

* ``"1910.147"``: 29 CFR 1910.147, the team's shared data at ``SOURCE_1910_147`` (under the
  shared data folder); its requirement list is
  ``comply_corpus.gold_1910_147.GOLD``.
* ``"ecfr_inline"``: the made-up § 1910.998 of ``comply_corpus.ecfr_inline`` (``TEXT``), its
  requirement list ``comply_corpus.ecfr_inline.GOLD``.

Labelling rules:

* Every designator of the standard's gold list is in exactly one of ``gaps``, ``partial``
  and ``covered``, spelled as in the gold list.
* ``gaps``: the procedure does not meet the requirement at all, and its subject appears
  nowhere in the procedure (not even as a vague sentence). A gap finder should say
  "missing".
* ``covered``: the procedure meets the whole requirement, in its own words; the value points
  to where (section heading, step, table). A list item (a training topic, an element a
  procedure must have, an item a review must address) counts as covered only where that
  specific item is addressed, not where the list's lead-in is.
* ``partial``: the procedure meets part of the requirement on purpose; the value says what is
  lacking. A gap finder should say "partial" (or, more leniently, not "covered").
* ``lockout_checklist`` is a lockbox: it is to be evaluated once, at the end, and not used
  while tuning the gap finder.
"""

from __future__ import annotations

from pathlib import Path

SOP_DIR = Path(__file__).resolve().parent / "sops"
SOURCE_1910_147 = Path("data") / "docs" / "regulations" / "29cfr1910.147.md"

LOCKOUT_PROGRAM: dict = {
    "sop": "lockout_program.md",
    "standard": "1910.147",
    "gaps": (
        "(c)(2)(iii)",  # no rule that new, replaced or modified machines get lockable isolators
        "(c)(5)(ii)(A)(3)",  # plastics line: no mention of tags in acid/alkali areas
        "(c)(7)(iii)(A)",  # refresher only after audit findings; no trigger on job/machine/procedure change
        "(c)(9)",  # affected employees never told before locks go on or after they come off
        "(e)(2)(ii)",  # no notice to operators after removal, before restart
        "(e)(3)(i)",  # "only the owner removes a lock", no procedure for an absent owner
        "(e)(3)(ii)",  # ... so no attempt to contact the owner
        "(e)(3)(iii)",  # ... and no informing the owner before they resume work
    ),
    "partial": {
        "(c)(6)(ii)": "LT-05 records sheet/machine, date and auditor, but not the employees "
        "included in the inspection (section 9, last bullet)",
    },
    "covered": {
        "(a)(3)(ii)": "1.1 Other rules that call for LOTO",
        "(c)(1)": "1. Why we have this program (three parts; isolated and cannot run)",
        "(c)(2)(i)": "3.2 Tag-only points",
        "(c)(2)(ii)": "3.3 Tag-only on a point that could be locked (lock unless LT-07 shows equal protection)",
        "(c)(3)(i)": "3.3, first bullet and EHS sign-off of equal protection",
        "(c)(3)(ii)": "3.3, second and third bullets (every tag rule + added measures)",
        "(c)(4)(i)": "3. Isolation sheets (every machine, posted, followed)",
        "(c)(4)(ii)": "3., paragraph after the list (scope, who, rules, techniques, enforcement) and 1.2",
        "(c)(4)(ii)(A)": "3., item 1 (what the sheet is for)",
        "(c)(4)(ii)(B)": "3., item 2 (stop, isolate, blocks and pins)",
        "(c)(4)(ii)(C)": "3., item 3 (locks on, off, handed over, who is responsible)",
        "(c)(4)(ii)(D)": "3., item 4 (how to prove zero energy)",
        "(c)(5)(i)": "4., first paragraph (company buys and issues all hardware)",
        "(c)(5)(ii)": "4. 'LOTO only' bullet (serial-numbered, only for energy control)",
        "(c)(5)(ii)(A)(1)": "4. 'Built for the job' bullet",
        "(c)(5)(ii)(A)(2)": "4. 'Tags that stay readable' bullet (water, weather)",
        "(c)(5)(ii)(B)": "4. 'One look' bullet (color, size; tag print and format)",
        "(c)(5)(ii)(C)(1)": "4. 'Hard to defeat' bullet",
        "(c)(5)(ii)(C)(2)": "4. 'Tag ties' bullet (one-piece nylon, hand, self-locking, 50 lb)",
        "(c)(5)(ii)(D)": "4. 'Whose lock is it?' bullet",
        "(c)(5)(iii)": "4. 'What the tag says' bullet",
        "(c)(6)(i)": "9. Annual audit, first bullet",
        "(c)(6)(i)(A)": "9., second bullet (authorized employee who does not use the sheet)",
        "(c)(6)(i)(B)": "9., third bullet (deviations written up and corrected)",
        "(c)(6)(i)(C)": "9., fourth bullet (duties reviewed with each authorized employee)",
        "(c)(6)(i)(D)": "9., fifth bullet (tag-only: affected employees too, and the tag module)",
        "(c)(7)(i)": "7.1 Levels, first paragraph (understand the program; skills to apply, use, remove)",
        "(c)(7)(i)(A)": "7.1 table, LOTO-A row",
        "(c)(7)(i)(B)": "7.1 table, LOTO-B row",
        "(c)(7)(i)(C)": "7.1 table, LOTO-C row (never try to start locked or tagged equipment)",
        "(c)(7)(ii)(A)": "7.2 Tag module, bullet 1",
        "(c)(7)(ii)(B)": "7.2, bullet 2",
        "(c)(7)(ii)(C)": "7.2, bullet 3",
        "(c)(7)(ii)(D)": "7.2, bullet 4",
        "(c)(7)(ii)(E)": "7.2, bullet 5",
        "(c)(7)(ii)(F)": "7.2, bullet 6",
        "(c)(7)(iii)(B)": "7.3 Refresher training (audit or supervisor finds deviations)",
        "(c)(7)(iii)(C)": "7.3 (full competence; new or updated methods)",
        "(c)(7)(iv)": "7.4 Training records (signed roster: name, date; kept up to date)",
        "(c)(8)": "2., paragraph after the table (only the authorized employee doing the work)",
        "(d)(1)": "5., step 1 Know the machine",
        "(d)(2)": "5., step 2 Stop it properly",
        "(d)(3)": "5., step 3 Isolate",
        "(d)(4)(i)": "5., step 4 (own lock and tag on each isolation point)",
        "(d)(4)(ii)": "5., step 4, first sub-bullet",
        "(d)(4)(iii)": "5., step 4, second sub-bullet",
        "(d)(4)(iii)(A)": "5., step 4, third sub-bullet",
        "(d)(4)(iii)(B)": "5., step 4, fourth sub-bullet",
        "(d)(5)(i)": "5., step 5 Bleed off stored energy",
        "(d)(5)(ii)": "5., step 6 Keep watching what can come back",
        "(d)(6)": "5., step 7 Try it out",
        "(e)(1)": "6., step 1",
        "(e)(2)(i)": "6., step 2",
        "(e)(3)": "6., step 3 (only the person whose name is on it)",
        "(f)(1)(i)": "10., step 1",
        "(f)(1)(ii)": "10., step 2",
        "(f)(1)(iii)": "10., step 3",
        "(f)(1)(iv)": "10., step 4",
        "(f)(1)(v)": "10., step 5",
        "(f)(2)(i)": "11. Contractors, step 1",
        "(f)(2)(ii)": "11., step 2",
        "(f)(3)(i)": "8. Group lockout, opening sentence",
        "(f)(3)(ii)": "8., step 1 (follows the machine's isolation sheet)",
        "(f)(3)(ii)(A)": "8., step 2 (lock leader, at most 8 people)",
        "(f)(3)(ii)(B)": "8., step 5",
        "(f)(3)(ii)(C)": "8., step 6 (Outage Coordinator)",
        "(f)(3)(ii)(D)": "8., step 4",
        "(f)(4)": "12. Shift change",
    },
}

# The lockbox: evaluated once at the end (see the module docstring).
LOCKOUT_CHECKLIST: dict = {
    "sop": "lockout_checklist.md",
    "standard": "1910.147",
    "gaps": (
        "(a)(3)(ii)",  # terse work instruction: no word on other rules that call for LOTO
        "(c)(2)(iii)",  # nothing on buying or rebuilding machines with lockable isolators
        "(c)(6)(i)(C)",  # audit observes the job but reviews nobody's responsibilities
        "(c)(6)(i)(D)",  # ... nor, for tag-only points, with affected employees
        "(c)(7)(i)(C)",  # training for auth. and affected only; nobody else is instructed
        "(d)(5)(ii)",  # stored energy killed once; no re-check where it can build back
        "(f)(3)(ii)(C)",  # one lock leader per crew; no coordinator when several crews work
    ),
    "partial": {},
    "covered": {
        "(c)(1)": "1. Program, 1.1 and 1.2",
        "(c)(2)(i)": "4. Lock vs tag, second row",
        "(c)(2)(ii)": "4., first row (lock; TO only with F-22D)",
        "(c)(3)(i)": "4., F-22D boxes 1 and 4",
        "(c)(3)(ii)": "4., F-22D boxes 2 and 3",
        "(c)(4)(i)": "2. ECP cards (every machine, every time)",
        "(c)(4)(ii)": "2., second checkbox (scope, users, rules, methods, discipline) and 1.4",
        "(c)(4)(ii)(A)": "2., Purpose line",
        "(c)(4)(ii)(B)": "2., Shutdown / isolate / block / secure steps",
        "(c)(4)(ii)(C)": "2., Lock & tag steps",
        "(c)(4)(ii)(D)": "2., ZEV steps",
        "(c)(5)(i)": "3. LOTO hardware, Supply",
        "(c)(5)(ii)": "3., Dedicated",
        "(c)(5)(ii)(A)(1)": "3., Survives conditions",
        "(c)(5)(ii)(A)(2)": "3., Washdown-proof tags",
        "(c)(5)(ii)(A)(3)": "3., Sanitation chemicals (caustic and acid)",
        "(c)(5)(ii)(B)": "3., Standard look",
        "(c)(5)(ii)(C)(1)": "3., Strength — locks",
        "(c)(5)(ii)(C)(2)": "3., Strength — tag ties",
        "(c)(5)(ii)(D)": "3., ID",
        "(c)(5)(iii)": "3., Tag wording",
        "(c)(6)(i)": "9. Annual audit, box 1",
        "(c)(6)(i)(A)": "9., box 2",
        "(c)(6)(i)(B)": "9., box 4",
        "(c)(6)(ii)": "9., box 5 (machine/ECP, date, employees observed, auditor)",
        "(c)(7)(i)": "8.1, paragraph under the table (goal of all LOTO training)",
        "(c)(7)(i)(A)": "8.1 table, Auth. empl. row",
        "(c)(7)(i)(B)": "8.1 table, Aff. empl. row",
        "(c)(7)(ii)(A)": "8.2 Tag limits, bullet 1",
        "(c)(7)(ii)(B)": "8.2, bullet 2",
        "(c)(7)(ii)(C)": "8.2, bullet 3",
        "(c)(7)(ii)(D)": "8.2, bullet 4",
        "(c)(7)(ii)(E)": "8.2, bullet 5",
        "(c)(7)(ii)(F)": "8.2, bullet 6",
        "(c)(7)(iii)(A)": "8.3 Retraining table, rows 1-3",
        "(c)(7)(iii)(B)": "8.3 table, row 4",
        "(c)(7)(iii)(C)": "8.3, sentence under the table",
        "(c)(7)(iv)": "8.4 Records (name, date; monthly sign-off that training is current)",
        "(c)(8)": "1.3",
        "(c)(9)": "5. apply, step 2 and 6. release, step 4",
        "(d)(1)": "5. apply, step 1",
        "(d)(2)": "5., step 3",
        "(d)(3)": "5., step 4",
        "(d)(4)(i)": "5., step 5 (own lock + tag on each isolation point)",
        "(d)(4)(ii)": "5., step 5 (lock holds handle in OFF / CLOSED)",
        "(d)(4)(iii)": "5., step 5 (TO pt)",
        "(d)(4)(iii)(A)": "5., step 5 (tag on a lockable pt -> on the lock hole)",
        "(d)(4)(iii)(B)": "5., step 5 (as near as safely possible)",
        "(d)(5)(i)": "5., step 6",
        "(d)(6)": "5., step 7 ZEV",
        "(e)(1)": "6. release, step 1",
        "(e)(2)(i)": "6., step 2",
        "(e)(2)(ii)": "6., step 4",
        "(e)(3)": "6., step 3 and 10. (procedure, training, equal protection)",
        "(e)(3)(i)": "10., step 1",
        "(e)(3)(ii)": "10., step 2",
        "(e)(3)(iii)": "10., step 4",
        "(f)(1)(i)": "7. Test / position, step 1",
        "(f)(1)(ii)": "7., step 2",
        "(f)(1)(iii)": "7., step 3",
        "(f)(1)(iv)": "7., step 4",
        "(f)(1)(v)": "7., step 5",
        "(f)(2)(i)": "13. Contractors, box 1",
        "(f)(2)(ii)": "13., box 2",
        "(f)(3)(i)": "11. Group LOTO, 11.1",
        "(f)(3)(ii)": "11.2",
        "(f)(3)(ii)(A)": "11.3",
        "(f)(3)(ii)(B)": "11.6",
        "(f)(3)(ii)(D)": "11.5",
        "(f)(4)": "12. Shift change",
    },
}

PROCESS_SAFETY: dict = {
    "sop": "process_safety.md",
    "standard": "ecfr_inline",
    "gaps": (
        "(d)(1)(vii)",  # chemical data sheets, but no incompatibility / inadvertent-mixing data
        "(d)(3)(i)(G)",  # no material and energy balances in the equipment information
        "(d)(3)(iii)",  # RAGAGEP statement, nothing on equipment built to outdated codes
        "(e)(3)(v)",  # PHA report sections omit facility siting
        "(e)(3)(vi)",  # ... and human factors (classic audit findings)
        "(f)(1)(i)(C)",  # procedure table has no temporary operations phase
        "(h)(2)(iii)",  # contractor briefing covers hazards, not the emergency provisions
        "(l)(5)",  # audit reports: nothing on keeping the two most recent
    ),
    "partial": {
        "(g)(3)": "5., item 3: the LMS record holds name and date, but nothing ascertains that "
        "the training was understood, and the means of verifying it is not recorded",
    },
    "covered": {
        "(c)(1)": "1. How employees take part (this chapter is the written plan)",
        "(c)(2)": "1., item 1 Consultation",
        "(c)(3)": "1., item 2 Access to information",
        "(d)": "2. PSI, first paragraph (before any PHA, in the PHA plan's order; purpose)",
        "(d)(1)(i)": "2.1 table, Toxicity",
        "(d)(1)(ii)": "2.1 table, Exposure limits",
        "(d)(1)(iii)": "2.1 table, Physical data",
        "(d)(1)(iv)": "2.1 table, Reactivity",
        "(d)(1)(v)": "2.1 table, Corrosivity",
        "(d)(1)(vi)": "2.1 table, Thermal / chemical stability",
        "(d)(2)(i)(A)": "2.2, block flow diagram",
        "(d)(2)(i)(B)": "2.2, process chemistry",
        "(d)(2)(i)(C)": "2.2, largest intended inventory",
        "(d)(2)(i)(D)": "2.2, safe operating envelope",
        "(d)(2)(i)(E)": "2.2, assessment of exceeding each limit",
        "(d)(3)(i)(A)": "2.3, materials of construction",
        "(d)(3)(i)(B)": "2.3, P&IDs",
        "(d)(3)(i)(C)": "2.3, electrical area classification",
        "(d)(3)(i)(D)": "2.3, pressure relief design and governing scenario",
        "(d)(3)(i)(E)": "2.3, ventilation design",
        "(d)(3)(i)(F)": "2.3, codes and standards",
        "(d)(3)(i)(H)": "2.3, safety systems",
        "(d)(3)(ii)": "2.3, last paragraph (Engineering's RAGAGEP statement)",
        "(e)(1)": "3.1 Initial hazard reviews, first paragraph",
        "(e)(1)(i)": "3.1 (a quarter by late May 1994) and table row U-200",
        "(e)(1)(ii)": "3.1 (half by late May 1995) and table row U-100",
        "(e)(1)(iii)": "3.1 (all by late May 1997) and table rows U-150, U-300/U-400",
        "(e)(2)(i)": "3.2 Method, What-If",
        "(e)(2)(ii)": "3.2, Checklist",
        "(e)(2)(iii)": "3.2, combined What-If/Checklist",
        "(e)(2)(iv)": "3.2, HAZOP",
        "(e)(2)(v)": "3.2, FMEA",
        "(e)(2)(vi)": "3.2, fault tree",
        "(e)(2)(vii)": "3.2, another method of equal rigour",
        "(e)(3)(i)": "3.3, item 1",
        "(e)(3)(ii)": "3.3, item 2 (earlier incidents)",
        "(e)(3)(iii)": "3.3, item 3 (controls and how they depend on each other)",
        "(e)(3)(iv)": "3.3, item 4 (controls fail)",
        "(e)(4)": "3.4 The team",
        "(e)(5)": "3.5 Recommendations",
        "(f)(1)": "4.1, first paragraph (written, step by step, agree with the PSI)",
        "(f)(1)(i)(A)": "4.1 phase table, first start-up",
        "(f)(1)(i)(B)": "4.1 phase table, normal running",
        "(f)(1)(i)(D)": "4.1 phase table, emergency shutdown, and the paragraph under it",
        "(f)(1)(i)(E)": "4.1 phase table, emergency operations",
        "(f)(1)(i)(F)": "4.1 phase table, normal shutdown",
        "(f)(1)(i)(G)": "4.1 phase table, start-up after a turnaround or an ESD",
        "(f)(1)(ii)(A)": "4.1 operating limits table, 'What happens if exceeded'",
        "(f)(1)(ii)(B)": "4.1 operating limits table, 'What to do'",
        "(f)(1)(iii)(A)": "4.1 Safety and health, bullet 1",
        "(f)(1)(iii)(B)": "4.1 Safety and health, bullet 2",
        "(f)(1)(iii)(C)": "4.1 Safety and health, bullet 3",
        "(f)(1)(iv)": "4.1 Safety systems",
        "(f)(2)": "4.2 Where the procedures are",
        "(f)(3)": "4.3 Keeping procedures current (review; December certification)",
        "(g)(1)(i)": "5., item 1 Initial",
        "(g)(2)": "5., item 2 Refresher",
        "(h)(2)(i)": "6. Contractors, item 1 Selection",
        "(h)(2)(ii)": "6., item 2 Hazard briefing",
        "(h)(2)(iv)": "6., item 3 Entry and exit",
        "(h)(3)(i)": "6., item 4 (train its workers)",
        "(h)(3)(ii)": "6., item 4 (record: received and understood)",
        "(i)(1)": "7. PSSR, first sentence",
        "(i)(2)(i)": "7., item 1",
        "(i)(2)(ii)": "7., item 2",
        "(i)(2)(iii)": "7., item 3",
        "(j)(2)": "8. Mechanical integrity, item 1",
        "(j)(3)(i)": "8., item 2",
        "(j)(3)(ii)": "8., item 3",
        "(j)(3)(iii)": "8., item 4",
        "(j)(4)": "8., item 5",
        "(k)(1)": "9. Hot work, item 1",
        "(k)(2)": "9., item 2",
        "(l)(1)": "10. Compliance audits, item 1",
        "(l)(2)": "10., item 2",
        "(l)(3)": "10., item 3",
        "(l)(4)": "10., item 4",
    },
}

ENERGY_ISOLATION_STANDARD: dict = {
    "sop": "energy_isolation_standard.md",
    "standard": "1910.147",
    "gaps": (
        "(a)(3)(ii)",  # no word on other OSHA rules (e.g. the power press rule) that call for lockout
        "(c)(6)(i)(A)",  # audit: who performs it is never said (no authorized, independent inspector)
        "(c)(7)(i)(C)",  # training matrix: APs and Affected Persons only; no one else instructed
        "(c)(7)(iv)",  # no training records or certification (names, dates) anywhere
        "(d)(5)(ii)",  # no continued verification where stored energy can build back up
        "(e)(3)(i)",  # EI-05 removal: no check that the absent owner has left the site
        "(f)(2)(ii)",  # contractors: procedures exchanged, but Kestrel staff never told to obey theirs
        "(f)(4)",  # no shift or personnel change / handover of lock protection
    ),
    "partial": {
        "(c)(4)(ii)(C)": "5.2 block C covers where locks and tags go, the order they come off and "
        "which AP owns each lock, but no steps for transferring locks or tags (owner holds it "
        "'for the life of the job')",
        "(c)(7)(iii)(A)": "14.4, first bullet: retraining on a new job or area and on ECP or "
        "standard revision, but not on a change in machines, equipment or processes that "
        "brings a new hazard",
    },
    "covered": {
        "(c)(1)": "1.2 (ECPs, training, yearly audit; cut off and cannot move)",
        "(c)(2)(i)": "6.2 (point that cannot take a lock: tag isolation)",
        "(c)(2)(ii)": "6.1 (lockable point is locked; tag-only only under clause 7)",
        "(c)(2)(iii)": "6.3 New, rebuilt and modified equipment (CES-ENG-0107, MAF-1)",
        "(c)(3)(i)": "7.1 (EI-04 shows equal protection) and 7.2 (tag where the padlock would hang)",
        "(c)(3)(ii)": "7.3 (every tag rule met plus an extra barrier: fuse, disconnect, switch cover, handwheel)",
        "(c)(4)(i)": "5.1 (written ECP per machine, filed, posted, used on every job)",
        "(c)(4)(ii)": "5.2, first sentence (scope, purpose, who may use it, rules, techniques, enforcement 2.2)",
        "(c)(4)(ii)(A)": "5.2 table, block A. Use",
        "(c)(4)(ii)(B)": "5.2 table, block B. Shut down and isolate",
        "(c)(4)(ii)(D)": "5.2 table, block D. Prove ZES",
        "(c)(5)(i)": "8.1 Supply (Kestrel buys and issues all hardware)",
        "(c)(5)(ii)": "8.2 Isolation only (serial-numbered, only hardware for isolation, no other use)",
        "(c)(5)(ii)(A)(1)": "8.6, first sentence (survive conditions for the longest isolation)",
        "(c)(5)(ii)(A)(2)": "8.6, second sentence (rain, hose-down water)",
        "(c)(5)(ii)(A)(3)": "8.6, third sentence (PT-1 acid and alkali: EI-TAG-2C)",
        "(c)(5)(ii)(B)": "8.3 Colour and format code table (colours; one tag size and print layout)",
        "(c)(5)(ii)(C)(1)": "8.4 Strength (bolt cutters, grinder)",
        "(c)(5)(ii)(C)(2)": "8.5 Tag ties (one-piece nylon, single-use, by hand, self-locking, 50 lb)",
        "(c)(5)(ii)(D)": "8.7 Whose lock?",
        "(c)(5)(iii)": "8.8 Tag message (DANGER - DO NOT OPERATE)",
        "(c)(6)(i)": "15.1 (every ECP in use audited at least once per calendar year)",
        "(c)(6)(i)(B)": "15.2 checklist, row 4 (deviations written up and corrected)",
        "(c)(6)(i)(C)": "15.2 checklist, row 2 (duties reviewed with each AP, lock ECPs)",
        "(c)(6)(i)(D)": "15.2 checklist, row 3 (tag-only: each AP and Affected Person, and 14.3)",
        "(c)(6)(ii)": "15.3 (EI-06: machine, date, employees included, auditor)",
        "(c)(7)(i)": "14.1 (understand the system; skills to apply, use and remove)",
        "(c)(7)(i)(A)": "14.2 training matrix, LOTO-1 row",
        "(c)(7)(i)(B)": "14.2 training matrix, LOTO-2 row",
        "(c)(7)(ii)(A)": "14.3 LOTO-T, bullet 1",
        "(c)(7)(ii)(B)": "14.3, bullet 2",
        "(c)(7)(ii)(C)": "14.3, bullet 3",
        "(c)(7)(ii)(D)": "14.3, bullet 4",
        "(c)(7)(ii)(E)": "14.3, bullet 5",
        "(c)(7)(ii)(F)": "14.3, bullet 6",
        "(c)(7)(iii)(B)": "14.4, second bullet (audit finds deviations, or supervisor has grounds)",
        "(c)(7)(iii)(C)": "14.4, third bullet (full competence; new or changed methods)",
        "(c)(8)": "4. Roles, AP row (isolates only equipment he or she will work on)",
        "(c)(9)": "9.2 Notify (before) and 10.4 Tell them (after removal)",
        "(d)(1)": "9.1 Prepare",
        "(d)(2)": "9.3 Stop",
        "(d)(3)": "9.4 Isolate",
        "(d)(4)(i)": "9.5, bullet 1",
        "(d)(4)(ii)": "9.5, bullet 2",
        "(d)(4)(iii)": "9.5, bullet 3",
        "(d)(4)(iii)(A)": "9.5, bullet 4",
        "(d)(4)(iii)(B)": "9.5, bullet 5",
        "(d)(5)(i)": "9.6 Dump stored energy",
        "(d)(6)": "9.7 Prove ZES",
        "(e)(1)": "10.1 Walk-down",
        "(e)(2)(i)": "10.2 People clear",
        "(e)(2)(ii)": "10.4 Tell them",
        "(e)(3)": "10.3 Own lock only, and 10.5 lead-in (EI-05 procedure, LOTO-R training, EHS "
        "confirmation of equal protection)",
        "(e)(3)(ii)": "10.5, step a) (phone, text, attempts logged)",
        "(e)(3)(iii)": "10.5, step c) (told before starting work again)",
        "(f)(1)(i)": "11., step 1",
        "(f)(1)(ii)": "11., step 2",
        "(f)(1)(iii)": "11., step 3",
        "(f)(1)(iv)": "11., step 4",
        "(f)(1)(v)": "11., step 5",
        "(f)(2)(i)": "13.1 (procedures exchanged, recorded on CWP-3)",
        "(f)(3)(i)": "12.1",
        "(f)(3)(ii)": "12.2 (Permit Holder isolates by the machine's ECP)",
        "(f)(3)(ii)(A)": "12.3 (Permit Holder, named crew of at most ten)",
        "(f)(3)(ii)(B)": "12.5",
        "(f)(3)(ii)(C)": "12.6 (Outage Lead)",
        "(f)(3)(ii)(D)": "12.4",
    },
}

SOPS: dict[str, dict] = {
    "lockout_program": LOCKOUT_PROGRAM,
    "lockout_checklist": LOCKOUT_CHECKLIST,
    "process_safety": PROCESS_SAFETY,
    "energy_isolation_standard": ENERGY_ISOLATION_STANDARD,
}
