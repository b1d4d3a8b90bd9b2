"""cosim: co-simulation testbed for local electricity markets in distribution grids."""

__version__ = "0.1.0"
