"""Dependency audit with pip-audit, summarised.

Fails on any known vulnerability. Where no vulnerability service can be reached
(these offline machines reach the package index but not PyPI's JSON API or OSV),
it says so plainly instead of claiming a clean bill of health; set
AUDIT_REQUIRE_SERVICE=1 (as the GitHub workflow does) to make that a failure too.
"""

import json
import os
import subprocess
import sys

proc = subprocess.run(
    [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off",
     "-f", "json"],
    capture_output=True, text=True,
)
try:
    report = json.loads(proc.stdout)
except ValueError:
    print(proc.stderr[-2000:])
    print("audit: pip-audit produced no report")
    sys.exit(1)
deps = report["dependencies"]
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [d for d in audited if d.get("vulns")]
for d in vulnerable:
    ids = ", ".join(v["id"] for v in d["vulns"])
    fixes = ", ".join(sorted({f for v in d["vulns"] for f in v.get("fix_versions", [])}))
    print(f"audit: {d['name']} {d['version']}: {ids} (fixed in: {fixes or 'no release yet'})")
print(f"audit: {len(deps)} dependencies, {len(audited)} audited, "
      f"{len(deps) - len(audited)} skipped, {len(vulnerable)} vulnerable")
if vulnerable:
    sys.exit(1)
if not audited:
    print("audit: no vulnerability service reachable from this machine; nothing was audited")
    sys.exit(1 if os.environ.get("AUDIT_REQUIRE_SERVICE") == "1" else 0)
