"""mkdocs-gen-files script: put the trained figures, facts and data into the build.

Thin glue: everything happens in ``looking_inside.site``, imported fresh when its
source changed (``mkdocs serve`` picks up code edits without a restart).
"""

import mkdocs_gen_files
from mkdocs.exceptions import PluginError

from looking_inside import live

site = live.fresh("looking_inside.site")
errors = live.fresh("looking_inside.errors")
try:
    manifest = site.prepare(site.settings_for(mkdocs_gen_files.config.config_file_path))
    site.write_outputs(manifest, mkdocs_gen_files.open)
except errors.BuildError as exc:
    raise PluginError(str(exc)) from exc
