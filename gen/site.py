"""mkdocs-gen-files script: generate the figures, facts and data, then add them.

The work is one command, ``python -m looking_inside generate``, run on every build
(a cache lookup when nothing changed, so ``mkdocs serve`` picks up any edit by running
it again); its progress goes straight to the console. Another site engine can run the
same command and copy the same folder.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mkdocs_gen_files
from mkdocs.exceptions import PluginError

from looking_inside.site import settings_for

config_file = mkdocs_gen_files.config.config_file_path
project = Path(config_file).resolve().parent
out = settings_for(config_file).generated_dir
# The project's own source, as it is on disk now (not what this server imported), and
# no .pyc files written under src/ for `mkdocs serve`'s watcher to see.
env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
           PYTHONPATH=os.pathsep.join(filter(None, [str(project / "src"),
                                                    os.environ.get("PYTHONPATH")])))
cmd = [sys.executable, "-m", "looking_inside", "generate", "--json", "--out", str(out)]
proc = subprocess.run(cmd, cwd=project, env=env, stdout=subprocess.PIPE, text=True)
try:
    result = json.loads(proc.stdout.strip().splitlines()[-1])
except (ValueError, IndexError):
    result = {"error": f"`{' '.join(cmd)}` exited with {proc.returncode} and no result"}
if "error" in result:
    raise PluginError(result["error"])

for path in sorted(out.rglob("*")):
    if path.is_file():
        with mkdocs_gen_files.open(path.relative_to(out).as_posix(), "wb") as f:
            f.write(path.read_bytes())
