//! Properties of the reader over arbitrary input (see `tests` for the examples).
