"""The shared vectors' token cases through the static CLI: cli_vectors.py VERITOKEN VECTORS_DIR.

Each case: its config written to a file, then `veritoken verify --config F --now N
[--scope S ... [--any-scope]] TOKEN`; exit 0 with the claims, 1 with the error code, or 2
for an invalid configuration.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

exe, vectors = sys.argv[1], Path(sys.argv[2])
total = agree = 0
with tempfile.TemporaryDirectory() as tmp:
    config = Path(tmp) / "config.json"
    for path in sorted(vectors.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            if "token" not in case or "require" in case:
                continue  # requests, and route requirements: no CLI flag for them
            total += 1
            config.write_text(json.dumps(case["config"]))
            args = [exe, "verify", "--config", str(config), "--now", str(case["now"])]
            spec = case.get("require_scopes")
            if spec:
                args += [a for s in spec["scopes"] for a in ("--scope", s)]
                if spec.get("match") == "any":
                    args.append("--any-scope")
            out = subprocess.run(
                [*args, "--", case["token"]], capture_output=True, text=True
            )
            expect = case["expect"]
            if expect["valid"]:
                ok = out.returncode == 0 and json.loads(out.stdout) == expect["claims"]
            elif expect["error"] == "config_invalid":  # usage/configuration: exit 2
                ok = out.returncode == 2 and "invalid configuration" in out.stderr
            else:
                ok = out.returncode == 1 and expect["error"] in out.stdout
            if ok:
                agree += 1
            else:
                print(
                    f"{case['name']}: exit {out.returncode}: {out.stdout.strip()} {out.stderr.strip()}"
                )
print(f"cli: {agree}/{total} token vectors agree")
sys.exit(0 if agree == total and total >= 150 else 1)
