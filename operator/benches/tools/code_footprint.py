#!/usr/bin/env python3
"""How much code one webhook decision runs: instructions per call and the distinct 64-byte
lines of machine code executed, in all and per function, from a callgrind profile taken with
`--dump-instr=yes`.

Why lines and not only instructions: under load the handler shares each core's 32 KiB
instruction cache with TLS, HTTP and the load generator, so every line it runs is likely
fetched again from L2 or L3 at each review. A change that saves instructions but spreads the
code over more lines can be slower under load (session 11 measured one).

Usage (from operator/, with a small register so that valgrind is quick):

    cargo bench -p aims-operator --bench stages --no-run
    AIMS_BENCH_ONLY=handler AIMS_BENCH_SYSTEMS=500 valgrind --tool=callgrind --dump-instr=yes \
        --callgrind-out-file=/tmp/handler.out \
        --toggle-collect='aims_operator::webhook::answer_raw' ../target/release/deps/stages-<hash>
    python3 benches/tools/code_footprint.py /tmp/handler.out 500
"""

import collections
import re
import sys


def read_profile(path):
    """Per function: the instruction lines executed and the instructions counted."""
    names, lines, costs = {}, collections.defaultdict(set), collections.Counter()
    function, last, after_call = None, 0, False
    positions = ["instr"]
    with open(path) as profile:
        for line in profile:
            if line.startswith("positions:"):
                positions = line.split()[1:]
                continue
            if line.startswith(("fn=", "cfn=")):
                match = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
                if match and match.group(2):
                    names[match.group(1)] = match.group(2)
                if line.startswith("fn=") and match:
                    function = names.get(match.group(1), match.group(1))
                continue
            if line.startswith("calls="):
                # The next cost line is the call's inclusive cost, not this function's own.
                after_call = True
                continue
            if not line[:1] or line[:1] not in "0123456789+-*":
                continue
            fields = line.split()
            token = fields[0]
            if token.startswith("0x"):
                address = int(token, 16)
            elif token.startswith("+"):
                address = last + int(token[1:])
            elif token.startswith("-"):
                address = last - int(token[1:])
            elif token == "*":
                address = last
            else:
                continue
            last = address
            cost_at = len(positions)
            cost = int(fields[cost_at]) if len(fields) > cost_at and fields[cost_at].isdigit() else 0
            if cost > 0:
                lines[function].add(address >> 6)
            if not after_call:
                costs[function] += cost
            after_call = False
    return lines, costs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, calls = sys.argv[1], int(sys.argv[2])
    lines, costs = read_profile(path)
    every = set().union(*lines.values()) if lines else set()
    print(
        f"{sum(costs.values()) / calls:,.0f} instructions per call; "
        f"{len(every)} lines of code executed ({len(every) * 64 / 1024:.1f} KiB)"
    )
    print(f"{'lines':>6} {'instr/call':>11}  function")
    for function, executed in sorted(lines.items(), key=lambda kv: -len(kv[1]))[:30]:
        print(f"{len(executed):>6} {costs[function] / calls:>11,.0f}  {function[:100]}")


if __name__ == "__main__":
    main()
