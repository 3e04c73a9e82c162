"""Rendering: landmark-driven warping (`warp`), mouth/eyelid synthesis (`fill`), the animation
driver (`animate`), and export/matting (`export`, `matting`).

Import the submodules directly (`from emoget_cli.render.warp import warp_image`); this package
imports nothing heavy so `emoget --help` stays instant.
"""
