"""A made-up regulation in the eCFR's inline layout, written for the tests in the manner of a
process safety standard (its wording is the tests' own), and its gold requirement list.

The layout: a paragraph's heading and its first sub-paragraphs on one line ("(c) Employee
participation. (1) Employers shall …"), several levels deep ("(f) … (1) … (i) Steps …:
(A) …; (B) …"), lists inline in a sentence ("… at least the following: (i) Toxicity
information; (ii) …; and (vii) …", "; or, (iii)", "; and, (E)"), a definitions paragraph of
unnumbered terms ("Facility means …", one a paragraph, the first on the heading's line),
cross-references that are not enumerators ("paragraph (e)(1) of this section",
"(see appendix B to this section)", "two (2) most recent", "date(s)", "(e.g., propane …)"),
a note, and a non-mandatory appendix.

Counting rules: those of ``gold_1910_147`` (one requirement per paragraph or list item that
obliges; scope, definitions, notes, titles and informative text are not; the items of a
list under an obligation are, and the lead-in only when it obliges something beyond "the
following"). Under them: (d)(1), (d)(2)(i), (d)(3)(i), (e)(2), (e)(3) and (i)(2) are pure
lead-ins; (f)(1) obliges on its own ("shall develop and implement written operating
procedures … and shall address at least the following elements"); (f)(1)(i)-(iii) ("Steps
for each operating phase:") are titles of sub-lists whose items are the requirements, and
(f)(1)(iv) is an item; (a), (h)(1) and (j)(1) say where the section applies.
"""

from __future__ import annotations

SECTION = "1910.998"

TEXT = """§ 1910.998 Process safety management of stored reactive chemicals (a made-up regulation for tests).

(a) Application. (1) This section applies to the following: (i) A process which involves a reactive chemical at or above the threshold quantity listed in appendix A to this section; (ii) A process which involves a flammable liquid with a flashpoint below 100 °F (37.8 °C) on site in one location, in a quantity of 10,000 pounds (4535.9 kg) or more except for: (A) Hydrocarbon fuels used solely for workplace consumption as a fuel (e.g., propane used for comfort heating), if such fuels are not a part of a process containing another reactive chemical covered by this standard; (B) Flammable liquids stored in atmospheric tanks which are kept below their normal boiling point without benefit of chilling.

(2) This section does not apply to: (i) Retail facilities; (ii) Oil or gas well drilling or servicing operations; or, (iii) Normally unoccupied remote facilities.

(b) Definitions. Atmospheric tank means a storage tank which has been designed to operate at pressures from atmospheric through 0.5 p.s.i.g. (pounds per square inch gauge, 3.45 Kpa).

Boiling point means the boiling point of a liquid at a pressure of 14.7 pounds per square inch absolute (p.s.i.a.) (760 mm.).

Catastrophe means a major uncontrolled emission, fire, or explosion, involving one or more reactive chemicals, that presents serious danger to employees in the workplace.

Facility means the buildings, containers or equipment which contain a process.

Hot work means work involving electric or gas welding, cutting, brazing, or similar flame or spark-producing operations.

Process means any activity involving a reactive chemical including any use, storage, manufacturing, handling, or the on-site movement of such chemicals. For purposes of this definition, any group of vessels which are interconnected shall be considered a single process.

(c) Employee participation. (1) Employers shall develop a written plan of action regarding the implementation of the employee participation required by this paragraph.

(2) Employers shall consult with employees and their representatives on the conduct and development of process hazards analyses and on the development of the other elements of process safety management in this standard.

(3) Employers shall provide to employees and their representatives access to process hazard analyses and to all other information required to be developed under this standard.

(d) Process safety information. In accordance with the schedule set forth in paragraph (e)(1) of this section, the employer shall complete a compilation of written process safety information before conducting any process hazard analysis required by the standard. The compilation of written process safety information is to enable the employer and the employees involved in operating the process to identify and understand the hazards posed by those processes involving reactive chemicals. (1) Information pertaining to the hazards of the reactive chemicals in the process. This information shall consist of at least the following: (i) Toxicity information; (ii) Permissible exposure limits; (iii) Physical data; (iv) Reactivity data; (v) Corrosivity data; (vi) Thermal and chemical stability data; and (vii) Hazardous effects of inadvertent mixing of different materials that could foreseeably occur.

Note to paragraph (d)(1): Safety data sheets meeting the requirements of 29 CFR 1910.1200(g) may be used to comply with this requirement to the extent they contain the information required by this paragraph (d)(1).

(2) Information pertaining to the technology of the process. (i) Information concerning the technology of the process shall include at least the following: (A) A block flow diagram or simplified process flow diagram (see appendix B to this section); (B) Process chemistry; (C) Maximum intended inventory; (D) Safe upper and lower limits for such items as temperatures, pressures, flows or compositions; and, (E) An evaluation of the consequences of deviations, including those affecting the safety and health of employees.

(ii) Where the original technical information no longer exists, such information may be developed in conjunction with the process hazard analysis in sufficient detail to support the analysis.

(3) Information pertaining to the equipment in the process. (i) Information pertaining to the equipment in the process shall include: (A) Materials of construction; (B) Piping and instrument diagrams (P&ID's); (C) Electrical classification; (D) Relief system design and design basis; (E) Ventilation system design; (F) Design codes and standards employed; (G) Material and energy balances for processes built after May 26, 1992; and (H) Safety systems (e.g. interlocks, detection or suppression systems).

(ii) The employer shall document that equipment complies with recognized and generally accepted good engineering practices.

(iii) For existing equipment designed and constructed in accordance with codes, standards, or practices that are no longer in general use, the employer shall determine and document that the equipment is designed, maintained, inspected, tested, and operating in a safe manner.

(e) Process hazard analysis. (1) The employer shall perform an initial process hazard analysis (hazard evaluation) on processes covered by this standard. The process hazard analysis shall be appropriate to the complexity of the process and shall identify, evaluate, and control the hazards involved in the process. The process hazard analysis shall be conducted as soon as possible, but not later than the following schedule: (i) No less than 25 percent of the initial process hazards analyses shall be completed by May 26, 1994; (ii) No less than 50 percent of the initial process hazards analyses shall be completed by May 26, 1995; (iii) All initial process hazards analyses shall be completed by May 26, 1997.

(2) The employer shall use one or more of the following methodologies that are appropriate to determine and evaluate the hazards of the process being analyzed: (i) What-If; (ii) Checklist; (iii) What-If/Checklist; (iv) Hazard and Operability Study (HAZOP); (v) Failure Mode and Effects Analysis (FMEA); (vi) Fault Tree Analysis; or (vii) An appropriate equivalent methodology.

(3) The process hazard analysis shall address: (i) The hazards of the process; (ii) The identification of any previous incident which had a likely potential for catastrophic consequences in the workplace; (iii) Engineering and administrative controls applicable to the hazards and their interrelationships; (iv) Consequences of failure of engineering and administrative controls; (v) Facility siting; and (vi) Human factors.

(4) The process hazard analysis shall be performed by a team with expertise in engineering and process operations, and the team shall include at least one employee who has experience and knowledge specific to the process being evaluated. Also, one member of the team must be knowledgeable in the specific process hazard analysis methodology being used.

(5) The employer shall establish a system to promptly address the team's findings and recommendations; assure that the recommendations are resolved in a timely manner and that the resolution is documented; and communicate the actions to operating, maintenance and other employees whose work assignments are in the process and who may be affected by the recommendations or actions.

(f) Operating procedures. (1) The employer shall develop and implement written operating procedures that provide clear instructions for safely conducting activities involved in each covered process consistent with the process safety information and shall address at least the following elements. (i) Steps for each operating phase: (A) Initial startup; (B) Normal operations; (C) Temporary operations; (D) Emergency shutdown including the conditions under which emergency shutdown is required, and the assignment of shutdown responsibility to qualified operators to ensure that emergency shutdown is executed in a safe and timely manner; (E) Emergency operations; (F) Normal shutdown; and, (G) Startup following a turnaround, or after an emergency shutdown. (ii) Operating limits: (A) Consequences of deviation; and (B) Steps required to correct or avoid deviation. (iii) Safety and health considerations: (A) Properties of, and hazards presented by, the chemicals used in the process; (B) Precautions necessary to prevent exposure, including engineering controls, administrative controls, and personal protective equipment; (C) Control measures to be taken if physical contact or airborne exposure occurs. (iv) Safety systems and their functions.

(2) Operating procedures shall be readily accessible to employees who work in or maintain a process.

(3) The operating procedures shall be reviewed as often as necessary to assure that they reflect current operating practice, including changes that result from changes in process chemicals, technology, and equipment, and changes to facilities. The employer shall certify annually that these operating procedures are current and accurate.

Note: The annual certification may be kept in electronic form.

(g) Training. (1) Initial training. (i) Each employee presently involved in operating a process, and each employee before being involved in operating a newly assigned process, shall be trained in an overview of the process and in the operating procedures as specified in paragraph (f) of this section. The training shall include emphasis on the specific safety and health hazards, emergency operations including shutdown, and safe work practices applicable to the employee's job tasks. (ii) In lieu of initial training for those employees already involved in operating a process on May 26, 1992, an employer may certify in writing that the employee has the required knowledge, skills, and abilities to safely carry out the duties and responsibilities as specified in the operating procedures.

(2) Refresher training. Refresher training shall be provided at least every three years, and more often if necessary, to each employee involved in operating a process to assure that the employee understands and adheres to the current operating procedures of the process. The employer, in consultation with the employees involved in operating the process, shall determine the appropriate frequency of refresher training.

(3) Training documentation. The employer shall ascertain that each employee involved in operating a process has received and understood the training required by this paragraph. The employer shall prepare a record which contains the identity of the employee, the date of training, and the means used to verify that the employee understood the training.

(h) Contractors. (1) Application. This paragraph applies to contractors performing maintenance or repair, turnaround, major renovation, or specialty work on or adjacent to a covered process. It does not apply to contractors providing incidental services which do not influence process safety, such as janitorial work, food and drink services, laundry, delivery or other supply services. (2) Employer responsibilities. (i) The employer, when selecting a contractor, shall obtain and evaluate information regarding the contract employer's safety performance and programs. (ii) The employer shall inform contract employers of the known potential fire, explosion, or toxic release hazards related to the contractor's work and the process. (iii) The employer shall explain to contract employers the applicable provisions of paragraph (n) of this section. (iv) The employer shall develop and implement safe work practices consistent with paragraph (f)(4) of this section, to control the entrance, presence and exit of contract employers and contract employees in covered process areas.

(3) Contract employer responsibilities. (i) The contract employer shall assure that each contract employee is trained in the work practices necessary to safely perform his/her job. (ii) The contract employer shall document that each contract employee has received and understood the training required by this paragraph.

(i) Pre-startup safety review. (1) The employer shall perform a pre-startup safety review for new facilities and for modified facilities when the modification is significant enough to require a change in the process safety information. (2) The pre-startup safety review shall confirm the following prior to the introduction of reactive chemicals to a process: (i) Construction and equipment is in accordance with design specifications; (ii) Safety, operating, maintenance, and emergency procedures are in place and are adequate; (iii) Training of each employee involved in operating a process has been completed.

(j) Mechanical integrity. (1) Application. Paragraphs (j)(2) through (j)(4) of this section apply to the following process equipment: (i) Pressure vessels and storage tanks; (ii) Piping systems (including piping components such as valves); (iii) Relief and vent systems and devices; (iv) Emergency shutdown systems; (v) Controls (including monitoring devices and sensors, alarms, and interlocks); and, (vi) Pumps.

(2) Written procedures. The employer shall establish and implement written procedures to maintain the on-going integrity of process equipment. (3) Inspection and testing. (i) Inspections and tests shall be performed on process equipment. (ii) Inspection and testing procedures shall follow recognized and generally accepted good engineering practices. (iii) The employer shall document each inspection and test that has been performed on process equipment. The documentation shall identify the date of the inspection or test, the name of the person who performed the inspection or test, the serial number or other identifier of the equipment on which the inspection or test was performed, a description of the inspection or test performed, and the results of the inspection or test.

(4) Equipment deficiencies. The employer shall correct deficiencies in equipment that are outside acceptable limits (defined by the process safety information in paragraph (d) of this section) before further use or in a safe and timely manner when necessary means are taken to assure safe operation.

(k) Hot work permit. (1) The employer shall issue a hot work permit for hot work operations conducted on or near a covered process. (2) The permit shall document that the fire prevention and protection requirements in 29 CFR 1910.252(a) have been implemented prior to beginning the hot work operations; it shall indicate the date(s) authorized for hot work; and identify the object on which hot work is to be performed. The permit shall be kept on file until completion of the hot work operations.

(l) Compliance audits. (1) Employers shall certify that they have evaluated compliance with the provisions of this section at least every three years to verify that the procedures and practices developed under the standard are adequate and are being followed. (2) The compliance audit shall be conducted by at least one person knowledgeable in the process. (3) A report of the findings of the audit shall be developed. (4) The employer shall promptly determine and document an appropriate response to each of the findings of the compliance audit, and document that deficiencies have been corrected. (5) Employers shall retain the two (2) most recent compliance audit reports.

Appendix A to § 1910.998—Compliance Guidelines and Recommendations (Nonmandatory)

This appendix is intended to provide information to help employers and employees comply with the standard; it neither adds nor detracts from any obligation.

1. Introduction to process safety management. The major objective of process safety management is to prevent unwanted releases of reactive chemicals into locations which could expose employees to serious hazards.

2. Employee involvement. Employers shall consult with their employees when they develop the plan of action; a written plan should say how employees take part.
"""

GOLD: tuple[str, ...] = (
    "(c)(1)", "(c)(2)", "(c)(3)",
    "(d)",
    "(d)(1)(i)", "(d)(1)(ii)", "(d)(1)(iii)", "(d)(1)(iv)", "(d)(1)(v)", "(d)(1)(vi)",
    "(d)(1)(vii)",
    "(d)(2)(i)(A)", "(d)(2)(i)(B)", "(d)(2)(i)(C)", "(d)(2)(i)(D)", "(d)(2)(i)(E)",
    "(d)(3)(i)(A)", "(d)(3)(i)(B)", "(d)(3)(i)(C)", "(d)(3)(i)(D)", "(d)(3)(i)(E)",
    "(d)(3)(i)(F)", "(d)(3)(i)(G)", "(d)(3)(i)(H)",
    "(d)(3)(ii)", "(d)(3)(iii)",
    "(e)(1)", "(e)(1)(i)", "(e)(1)(ii)", "(e)(1)(iii)",
    "(e)(2)(i)", "(e)(2)(ii)", "(e)(2)(iii)", "(e)(2)(iv)", "(e)(2)(v)", "(e)(2)(vi)",
    "(e)(2)(vii)",
    "(e)(3)(i)", "(e)(3)(ii)", "(e)(3)(iii)", "(e)(3)(iv)", "(e)(3)(v)", "(e)(3)(vi)",
    "(e)(4)", "(e)(5)",
    "(f)(1)",
    "(f)(1)(i)(A)", "(f)(1)(i)(B)", "(f)(1)(i)(C)", "(f)(1)(i)(D)", "(f)(1)(i)(E)",
    "(f)(1)(i)(F)", "(f)(1)(i)(G)",
    "(f)(1)(ii)(A)", "(f)(1)(ii)(B)",
    "(f)(1)(iii)(A)", "(f)(1)(iii)(B)", "(f)(1)(iii)(C)",
    "(f)(1)(iv)",
    "(f)(2)", "(f)(3)",
    "(g)(1)(i)", "(g)(2)", "(g)(3)",
    "(h)(2)(i)", "(h)(2)(ii)", "(h)(2)(iii)", "(h)(2)(iv)",
    "(h)(3)(i)", "(h)(3)(ii)",
    "(i)(1)", "(i)(2)(i)", "(i)(2)(ii)", "(i)(2)(iii)",
    "(j)(2)", "(j)(3)(i)", "(j)(3)(ii)", "(j)(3)(iii)", "(j)(4)",
    "(k)(1)", "(k)(2)",
    "(l)(1)", "(l)(2)", "(l)(3)", "(l)(4)", "(l)(5)",
)  # fmt: skip

# the unnumbered terms of (b)
TERMS = ("Atmospheric tank", "Boiling point", "Catastrophe", "Facility", "Hot work", "Process")


def full(pid: str) -> str:
    return f"{SECTION}{pid}"
