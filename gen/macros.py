"""mkdocs-macros module: what chapters call.

``{{ fact("mnist-1layer.accuracy") }}`` quotes a number the build produced;
``{{ figure("mnist-weights-all") }}`` inserts a figure with its caption;
``build()`` is the build's manifest (experiments, versions), for the how-built page.
The site module is looked up at each call: gen/site.py may have re-imported it.
"""

import importlib


def _site():  # noqa: ANN202
    return importlib.import_module("looking_inside.site")


def define_env(env):  # noqa: ANN001, ANN201 - mkdocs-macros' entry point
    def page() -> str:
        return env.page.file.src_uri if env.page else "?"

    @env.macro
    def fact(name: str) -> str:
        return _site().fact_html(name, page())

    @env.macro
    def figure(name: str) -> str:
        return _site().figure_markdown(name, page(), env.conf.get("repo_url"))

    @env.macro
    def build() -> dict:
        return _site().current().to_json()
