"""The shared vectors through the installed wheel: vectors.py VECTORS_DIR (exit 1 on a failure)."""

import json
import sys
from pathlib import Path

import veritoken

failures, count = [], 0
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    for case in json.loads(path.read_text())["cases"]:
        count += 1
        expect = case["expect"]
        try:
            verifier = veritoken.Verifier(case["config"])
            # A route requirement is built with the verifier: a bad one is config_invalid.
            need = veritoken.Requirement(case["require"]) if "require" in case else None
            if "token" in case:
                token = verifier.verify(case["token"], now=case["now"])
            else:
                r = case["request"]
                token = verifier.verify_request(
                    [tuple(h) for h in r["headers"]],
                    r.get("query"),
                    method=r.get("method"),
                    url=r.get("url"),
                    now=case["now"],
                    optional=bool(case.get("optional", False)),
                )
            if token is None:  # anonymous, on an optional route
                if not expect.get("anonymous"):
                    failures.append(f"{case['name']}: anonymous, want {expect}")
                continue
            if "require_scopes" in case:
                spec = case["require_scopes"]
                token.require_scopes(spec["scopes"], spec.get("match", "all"))
            if need is not None:
                token.check(need)
            if not expect["valid"]:
                failures.append(f"{case['name']}: accepted, want {expect['error']}")
            elif token.claims != expect["claims"]:
                failures.append(f"{case['name']}: claims {token.claims}")
        except veritoken.VeritokenError as e:
            if expect["valid"] or e.code != expect["error"]:
                failures.append(f"{case['name']}: {e.code}: {e.message}")
print(
    f"python: veritoken {veritoken.__version__} from {Path(veritoken.__file__).parent}"
)
print(f"python: {count - len(failures)}/{count} vectors agree")
print("\n".join(failures))
sys.exit(1 if failures or count < 150 else 0)
