"""mkdocs-macros module: the two macros chapters use.

``{{ fact("mnist-1layer.accuracy") }}`` quotes a number the build produced;
``{{ figure("mnist-weights-all") }}`` inserts a figure with its caption.
"""

from looking_inside import site


def define_env(env):  # noqa: ANN001, ANN201 - mkdocs-macros' entry point
    def page() -> str:
        return env.page.file.src_uri if env.page else "?"

    @env.macro
    def fact(name: str) -> str:
        return site.fact_html(name, page())

    @env.macro
    def figure(name: str) -> str:
        return site.figure_markdown(name, page())
