"""mkdocs-macros module: what chapters call.

``{{ fact("mnist-1layer.accuracy") }}`` quotes a number the build produced;
``fact_value(name)`` is its raw value, for ``{% if %}`` text that follows the results;
``{{ figure("mnist-weights-all") }}`` inserts a figure with its caption;
``{{ figref("mnist-weights-all") }}`` is "图 N", linking to it: figures are numbered
in the order the chapters of the nav show them, so inserting one renumbers the rest;
``build()`` is the build's manifest (experiments, versions), for the how-built page.
The site module is looked up at each call: gen/site.py may have re-imported it.
"""

import importlib


def _site():  # noqa: ANN202
    return importlib.import_module("looking_inside.site")


def define_env(env):  # noqa: ANN001, ANN201 - mkdocs-macros' entry point
    def page() -> str:
        return env.page.file.src_uri if env.page else "?"

    cache: dict = {}

    def numbers() -> dict:
        # Read the chapters once per build (the first figure or figref asks).
        if "numbers" not in cache:
            from pathlib import Path

            site = _site()
            cache["numbers"] = site.figure_numbers(Path(env.conf["docs_dir"]),
                                                   site.nav_pages(env.conf["nav"]))
        return cache["numbers"]

    @env.macro
    def fact(name: str) -> str:
        return _site().fact_html(name, page())

    @env.macro
    def fact_value(name: str):  # noqa: ANN202 - any JSON value
        # For text that depends on a result: {% if fact_value("cmp.x")["verdict"] ... %}
        return _site().fact_value(name, page())

    @env.macro
    def figure(name: str) -> str:
        return _site().figure_markdown(name, page(), env.conf.get("repo_url"),
                                       numbers().get(name, (None,))[0])

    @env.macro
    def figref(name: str) -> str:
        return _site().figref_markdown(name, page(), numbers())

    @env.macro
    def build() -> dict:
        return _site().current().to_json()
