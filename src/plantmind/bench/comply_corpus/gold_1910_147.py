"""Gold data for 29 CFR 1910.147 (the control of hazardous energy, lockout/tagout), written
from a reading of the regulation, not from the extractor's output.

Counting rules (what a compliance engineer would audit one by one):

* A paragraph that obliges someone ("shall", "must", "is required", "shall not") is one
  requirement, however many obligations it holds: (e)(3) is one, with its exception.
* Scope and application (a)(1)-(a)(2) are not requirements, nor are their items: in
  (a)(2)(ii)(A) "an employee is required to remove … a guard" describes when the standard
  applies, it obliges nobody. (a)(3)(i) ("This section requires employers to …") states the
  purpose; the obligations it summarises are (c)(1) onwards. (a)(3)(ii) ("they shall be used
  and supplemented by …") does oblige, and counts.
* Definitions (b), notes and exceptions are not requirements.
* A numbered title without text of its own ((c)(3) "Full employee protection.", (c)(5)(ii)(A)
  "Durable.", (d)(4), (e)(2), (f)(2), (f)(3)) is not a requirement; its items are.
* A lead-in that ends in a list: the items are requirements (each is an element the
  procedure or the training must have, whatever its own wording: (c)(7)(ii)(E) "Tags may
  evoke a false sense of security" is a required training topic). The lead-in itself counts
  only when it obliges something beyond "the following": (c)(4)(ii) ("shall clearly and
  specifically outline the scope, purpose, authorization, rules, and techniques …"),
  (c)(5)(ii) ("singularly identified; … shall not be used for other purposes"), (c)(7)(i)
  (training so that the program is understood), (e)(3) and (f)(3)(ii) do; (c)(7)(ii) ("shall
  also be trained in the following limitations of tags:"), (d) ("shall cover the following
  elements and actions and shall be done in the following sequence:"), (e) and (f)(1) ("the
  following sequence of actions shall be followed:") do not.
* Appendix A is "a non-mandatory guideline" (the note after (f)(4)): none of it counts.
"""

from __future__ import annotations

SECTION = "1910.147"

GOLD: tuple[str, ...] = (
    "(a)(3)(ii)",
    "(c)(1)",
    "(c)(2)(i)", "(c)(2)(ii)", "(c)(2)(iii)",
    "(c)(3)(i)", "(c)(3)(ii)",
    "(c)(4)(i)", "(c)(4)(ii)",
    "(c)(4)(ii)(A)", "(c)(4)(ii)(B)", "(c)(4)(ii)(C)", "(c)(4)(ii)(D)",
    "(c)(5)(i)", "(c)(5)(ii)",
    "(c)(5)(ii)(A)(1)", "(c)(5)(ii)(A)(2)", "(c)(5)(ii)(A)(3)",
    "(c)(5)(ii)(B)",
    "(c)(5)(ii)(C)(1)", "(c)(5)(ii)(C)(2)",
    "(c)(5)(ii)(D)",
    "(c)(5)(iii)",
    "(c)(6)(i)",
    "(c)(6)(i)(A)", "(c)(6)(i)(B)", "(c)(6)(i)(C)", "(c)(6)(i)(D)",
    "(c)(6)(ii)",
    "(c)(7)(i)", "(c)(7)(i)(A)", "(c)(7)(i)(B)", "(c)(7)(i)(C)",
    "(c)(7)(ii)(A)", "(c)(7)(ii)(B)", "(c)(7)(ii)(C)",
    "(c)(7)(ii)(D)", "(c)(7)(ii)(E)", "(c)(7)(ii)(F)",
    "(c)(7)(iii)(A)", "(c)(7)(iii)(B)", "(c)(7)(iii)(C)",
    "(c)(7)(iv)",
    "(c)(8)",
    "(c)(9)",
    "(d)(1)", "(d)(2)", "(d)(3)",
    "(d)(4)(i)", "(d)(4)(ii)", "(d)(4)(iii)",
    "(d)(4)(iii)(A)", "(d)(4)(iii)(B)",
    "(d)(5)(i)", "(d)(5)(ii)",
    "(d)(6)",
    "(e)(1)",
    "(e)(2)(i)", "(e)(2)(ii)",
    "(e)(3)", "(e)(3)(i)", "(e)(3)(ii)", "(e)(3)(iii)",
    "(f)(1)(i)", "(f)(1)(ii)", "(f)(1)(iii)", "(f)(1)(iv)", "(f)(1)(v)",
    "(f)(2)(i)", "(f)(2)(ii)",
    "(f)(3)(i)", "(f)(3)(ii)",
    "(f)(3)(ii)(A)", "(f)(3)(ii)(B)", "(f)(3)(ii)(C)", "(f)(3)(ii)(D)",
    "(f)(4)",
)  # fmt: skip

# What the example SOP (src/plantmind/examples/procedures/loto_sop.md) leaves out on purpose.
OMITTED: frozenset[str] = frozenset(
    {
        "(c)(2)(iii)",  # new or modified equipment designed to accept a lockout device
        "(c)(5)(ii)(A)(3)",  # tags in corrosive (acid, alkali) areas
        "(c)(5)(ii)(C)(2)",  # tag attachment: non-reusable, 50 lb, nylon cable tie
        "(c)(6)(ii)",  # certification of the periodic inspections
        "(c)(7)(iv)",  # certification of training (names, dates)
        "(d)(5)(ii)",  # verification continued while stored energy can reaccumulate
        "(f)(2)(i)",  # outside personnel: employers inform each other
        "(f)(2)(ii)",  # own employees follow the contractor's program
        "(f)(4)",  # shift or personnel changes
    }
)

# For every requirement the SOP does meet: words a passage citing it must contain (any of
# them, lower case) for the citation to be real evidence of that requirement.
EVIDENCE: dict[str, tuple[str, ...]] = {
    "(a)(3)(ii)": ("in addition to that standard",),
    "(c)(1)": ("rendered inoperative",),
    "(c)(2)(i)": ("not capable of being locked out, a tagout system is used",),
    "(c)(2)(ii)": ("capable of being locked out, lockout is used",
                   "tagout alone is allowed on a lockable device only where"),
    "(c)(3)(i)": ("same location where the lock would have been attached",),
    "(c)(3)(ii)": ("full compliance with all tagout provisions",),
    "(c)(4)(i)": ("developed, documented and used",),
    "(c)(4)(ii)": ("scope, purpose, authorization, rules and techniques",),
    "(c)(4)(ii)(A)": ("statement of the intended use",),
    "(c)(4)(ii)(B)": ("shutting down, isolating, blocking and securing",),
    "(c)(4)(ii)(C)": ("placement, removal and transfer",),
    "(c)(4)(ii)(D)": ("verify the effectiveness",),
    "(c)(5)(i)": ("provides the locks, tags, chains",),
    "(c)(5)(ii)": ("singularly identified",),
    "(c)(5)(ii)(A)(1)": ("withstand the environment",),
    "(c)(5)(ii)(A)(2)": ("weather, wet and damp",),
    "(c)(5)(ii)(B)": ("one shape and size",),
    "(c)(5)(ii)(C)(1)": ("bolt cutters",),
    "(c)(5)(ii)(D)": ("identity of the employee who applied",),
    "(c)(5)(iii)": ("do not start",),
    "(c)(6)(i)": ("at least annually",),
    "(c)(6)(i)(A)": ("other than the ones using",),
    "(c)(6)(i)(B)": ("correct any deviations or inadequacies",),
    "(c)(6)(i)(C)": ("between the inspector and each authorized employee",),
    "(c)(6)(i)(D)": ("tagout is used, the review includes each authorized and affected",),
    "(c)(7)(i)": ("purpose and function of the energy control program",),
    "(c)(7)(i)(A)": ("recognition of applicable hazardous energy sources",),
    "(c)(7)(i)(B)": ("affected employee is instructed in the purpose and use",),
    "(c)(7)(i)(C)": ("prohibition on attempting to restart or reenergize",),
    "(c)(7)(ii)(A)": ("do not provide the physical restraint",),
    "(c)(7)(ii)(B)": ("never to be bypassed",),
    "(c)(7)(ii)(C)": ("must be legible and understandable",),
    "(c)(7)(ii)(D)": ("withstand the environmental conditions",),
    "(c)(7)(ii)(E)": ("false sense of security",),
    "(c)(7)(ii)(F)": ("cannot be inadvertently or accidentally detached",),
    "(c)(7)(iii)(A)": ("retraining is given",),
    "(c)(7)(iii)(B)": ("additional retraining is conducted",),
    "(c)(7)(iii)(C)": ("reestablishes employee proficiency",),
    "(c)(8)": ("only authorized employees who perform the servicing",),
    "(c)(9)": ("notified by the authorized employee that lockout devices",
               "affected employees are notified that the devices have been removed"),
    "(d)(1)": ("type and magnitude of the energy",),
    "(d)(2)": ("orderly shutdown", "turned off or shut down"),
    "(d)(3)": ("physically located and operated",),
    "(d)(4)(i)": ("affix a lockout or tagout device to each energy isolating device",),
    "(d)(4)(ii)": ("hold the energy isolating device",),
    "(d)(4)(iii)": ("clearly indicate that operating or moving",),
    "(d)(4)(iii)(A)": ("fastened at the same point",),
    "(d)(4)(iii)(B)": ("as close as safely possible",),
    "(d)(5)(i)": ("relieved, disconnected, restrained",),
    "(d)(6)": ("verifies that isolation and deenergization",),
    "(e)(1)": ("nonessential items",),
    "(e)(2)(i)": ("safely positioned or removed",),
    "(e)(2)(ii)": ("before the machine or equipment is started, affected employees are notified",),
    "(e)(3)": ("only by the employee who applied the device",),
    "(e)(3)(i)": ("not at the facility",),
    "(e)(3)(ii)": ("reasonable efforts to contact",),
    "(e)(3)(iii)": ("before he or she resumes work",),
    "(f)(1)(i)": ("clear the machine or equipment of tools and materials",),
    "(f)(1)(ii)": ("remove employees from the machine or equipment area",),
    "(f)(1)(iii)": ("remove the lockout or tagout devices",),
    "(f)(1)(iv)": ("energize and proceed with the testing or positioning",),
    "(f)(1)(v)": ("reapply the energy control measures",),
    "(f)(3)(i)": ("level of protection equivalent to a personal lockout",),
    "(f)(3)(ii)": ("group lockout follows the machine-specific procedure",),
    "(f)(3)(ii)(A)": ("primary responsibility is vested",),
    "(f)(3)(ii)(B)": ("ascertains the exposure status",),
    "(f)(3)(ii)(C)": ("overall job-associated lockout control responsibility",),
    "(f)(3)(ii)(D)": ("personal lock to the group lockbox",),
}  # fmt: skip


def full(pid: str) -> str:
    return f"{SECTION}{pid}"
