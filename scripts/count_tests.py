"""Sums doctest's per-suite summaries from meson's testlog.json into one line."""
import json, re, sys

passed = failed = 0
pat = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
with open(sys.argv[1]) as f:
    for line in f:
        rec = json.loads(line)
        m = None
        for m in pat.finditer(rec.get("stdout", "") or ""):
            pass
        if m:
            passed += int(m.group(2))
            failed += int(m.group(3))
            if rec.get("result") != "OK" and int(m.group(3)) == 0:
                failed += 1  # crashed or timed out after its summary
        else:
            if rec.get("result") == "OK":
                passed += 1  # a suite that is not doctest: one test
            else:
                failed += 1
print(f"{passed} passed, {failed} failed")
