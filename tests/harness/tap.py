"""Reading TAP: the results of the guest, the follow-along, the casts and
the browser. A stream counts only if it is whole: it has exactly one plan
("1..N", first or last: rgtest prints it at the end), N results, no
"Bail out!". Anything else (a missing file, a producer that died half way,
a short stream) is a failure of the check that reads it."""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

RESULT = re.compile(r"^(not )?ok\b(?: [0-9]+)?(?: - )?(.*)$")
PLAN = re.compile(r"^1\.\.([0-9]+)(?: |$)")
DURATION = re.compile(r" # [0-9]+ ms$")


@dataclass
class Result:
    ok: bool
    name: str
    reasons: list = field(default_factory=list)  # the "#   " lines after it


@dataclass
class Stream:
    results: list
    plan: int | None
    bad: str  # what is wrong with the stream as a whole; "" if nothing

    @property
    def failed(self):
        return [r for r in self.results if not r.ok]


def read(path):
    """The results in the TAP file at path, and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        return Stream([], None, f"there is no {path}")
    results, plans, plan_at, plan, bad = [], 0, -1, None, ""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("ok ", "not ok ")):
            m = RESULT.match(line)
            results.append(Result(not m.group(1), DURATION.sub("", m.group(2))))
        elif line.startswith("#   ") and results:
            results[-1].reasons.append(line[4:])
        elif PLAN.match(line):
            plans += 1
            plan_at = len(results)
            plan = int(PLAN.match(line).group(1))
        elif line.startswith("Bail out!") and not bad:
            bad = f"the producer bailed out: {line}"
    n = len(results)
    if bad:
        pass
    elif plans == 0:
        bad = f"no plan (1..N) after {n} results: the stream ends early, or its producer died"
    elif plans > 1:
        bad = f"{plans} plans in one stream"
    elif plan_at not in (0, n):
        bad = f"the plan comes after result {plan_at} of {n}, not first or last"
    elif plan != n:
        bad = f"the plan says 1..{plan} but there are {n} results: a short stream"
    elif n == 0:
        bad = "no results: nothing was tested"
    return Stream(results, plan, bad)


if __name__ == "__main__":
    # python3 tests/harness/tap.py FILE: exit 1, saying why, unless the
    # stream in FILE is whole (for the shell self-tests).
    stream = read(sys.argv[1])
    if stream.bad:
        sys.exit(f"{sys.argv[1]}: {stream.bad}")
    print(f"{sys.argv[1]}: {len(stream.results)} results of plan 1..{stream.plan}")
