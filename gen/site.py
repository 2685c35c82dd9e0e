"""mkdocs-gen-files script: run ``python -m looking_inside generate`` (a cache lookup
when nothing changed; under ``mkdocs serve`` it runs again on every rebuild, so any
edit shows), its progress straight to the console; then add the folder it wrote."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mkdocs_gen_files
from mkdocs.exceptions import PluginError

from looking_inside.errors import BuildError
from looking_inside.site import check_roots, settings_for

config = mkdocs_gen_files.config
project = Path(config.config_file_path).resolve().parent
settings = settings_for(config.config_file_path)
try:
    check_roots(settings, config.docs_dir, config.site_dir)
except BuildError as exc:
    raise PluginError(str(exc)) from None
out = settings.generated_dir
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
