"""Multilingual coordination: the language of supplier and regional messages, their
quantities, units, tolerances, dates and part numbers read per locale, the plant glossary,
modality, and the flags where a message differs from the specification
(:func:`plantmind.language.check.check_message`). Kept import-light: the CLI imports this
package on every start, the detector's models load on first use."""
