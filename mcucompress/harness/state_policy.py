"""The per-sample state policy of a run: what happens to a recurrent model's state (LSTM, SVDF variable
tensors) between samples. "carry" (the default, TFLM's and LiteRT's behaviour): the state persists from one
invoke to the next, for streaming models such as SVDF keyword spotters fed one frame per sample. "reset": the
state is reset before every sample, for datasets of independent sequences (a Keras LSTM classifier, non-stateful
in Keras, evaluated sample by sample). A model without state runs the same under both."""

from __future__ import annotations

from mcucompress.errors import McuError

STATE_POLICIES = ("carry", "reset")


def check_state(state: str) -> str:
    if state not in STATE_POLICIES:
        raise McuError(f"state policy '{state}' is unknown; use 'carry' (state persists across samples, streaming "
                       "models) or 'reset' (reset before every sample, independent sequences)")
    return state
