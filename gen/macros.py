"""mkdocs-macros module: what chapters call, read from the generated manifest.

``{{ fact("name") }}`` quotes a number the build produced, ``fact_value(name)`` is its
raw value (for ``{% if %}``), ``{{ figure("name") }}`` inserts a figure with its
caption, ``{{ figref("name") }}`` is "图 N" linking to it (numbered in nav order), and
``build()`` is the manifest, for the how-built page.
"""

import functools
from pathlib import Path

from mkdocs_macros.errors import format_error

from looking_inside import site
from looking_inside.errors import BuildError


@format_error.register
def _one_line(error: BuildError, markdown: str, page: object) -> str:
    return str(error)  # our errors name the chapter and the fix: no traceback


def define_env(env):  # noqa: ANN001, ANN201 - mkdocs-macros' entry point
    # Called at the start of every build (Zensical: of every page), before gen/site.py
    # has generated anything: the manifest is read at the first macro call. Zensical
    # has no config_file_path (it runs in the project's folder) and a relative docs_dir.
    docs = Path(env.conf.get("root_dir", "")) / env.conf["docs_dir"]

    @functools.cache
    def manifest() -> site.Manifest:
        settings = site.settings_for(env.conf.get("config_file_path"))
        return site.Manifest.read(settings.generated_dir)

    @functools.cache
    def numbers() -> dict:
        return site.figure_numbers(docs, site.nav_pages(env.conf["nav"]))

    def page() -> str:  # mkdocs' page.file.src_uri, Zensical's page.path
        return getattr(getattr(env.page, "file", None), "src_uri", None) or \
            getattr(env.page, "path", "?")

    @env.macro
    def fact(name: str) -> str:
        return site.fact_html(manifest(), name, page())

    @env.macro
    def fact_value(name: str):  # noqa: ANN202 - any JSON value
        return site.fact_value(manifest(), name, page())

    @env.macro
    def figure(name: str) -> str:
        return site.figure_markdown(manifest(), name, page(), env.conf.get("repo_url"),
                                    numbers().get(name, (None,))[0])

    @env.macro
    def figref(name: str) -> str:
        return site.figref_markdown(name, page(), numbers())

    @env.macro
    def build() -> dict:
        return manifest().to_json()
