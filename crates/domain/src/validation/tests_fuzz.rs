//! Properties of the row rules over arbitrary cells.
