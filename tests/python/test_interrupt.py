"""Ctrl-C in a long retrain raises KeyboardInterrupt, keeps the finished jobs in the journal, and
the same call resumes from it."""
import json
import os
import signal
import subprocess
import sys
import time

SCRIPT = """
import sys, inflab
p = inflab.Problem(hidden=[8], seed=0)
print("ready", flush=True)
try:
    r = p.leave_one_out(p.test_rows()[0], top=40, journal=sys.argv[1])
    print("finished", r.retrains["resumed"], r.retrains["jobs"], flush=True)
except KeyboardInterrupt as e:
    print("interrupted:", e, flush=True)
"""


def test_ctrl_c_stops_a_retrain_and_the_journal_resumes(tmp_path):
    journal = tmp_path / "loo.jsonl"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(journal)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 3):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0 and "interrupted: retraining interrupted after" in out, out
    records = [json.loads(l) for l in journal.read_text().splitlines()[1:]]
    assert 2 <= len(records) < 40  # the header, then the jobs finished before Ctrl-C
    again = subprocess.run([sys.executable, "-c", SCRIPT, str(journal)], capture_output=True, text=True, env=env, timeout=300)
    line = again.stdout.splitlines()[-1].split()
    assert line[0] == "finished" and int(line[1]) == len(records) and int(line[2]) == 40, again.stdout + again.stderr
