"""The ids the bot dispatches on: the agreed strings, and every value read back as written."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from renderers import slack_ids
from renderers.slack_ids import QuickAnswer, StepOf, field_block_id, quick_value, step_metadata
from tests.renderers.conftest import TASK_REF


def test_ids_are_the_agreed_strings() -> None:
    ids = (slack_ids.ACTION_OPEN, slack_ids.ACTION_QUICK, slack_ids.ACTION_WEB,
           slack_ids.CALLBACK_STEP, slack_ids.VALUE_ACTION)
    assert ids == ("inloop_open", "inloop_quick", "inloop_web", "inloop_step", "value")
    assert field_block_id("a_b") == "f:a_b"


def test_values_are_compact_json() -> None:
    assert json.loads(quick_value(TASK_REF, 1)) == {"t": TASK_REF, "o": 1}
    assert json.loads(step_metadata(TASK_REF, 2)) == {"ref": TASK_REF, "step": 2}


@given(st.text(), st.integers(min_value=0, max_value=10_000))
def test_a_value_reads_back_as_written(ref: str, index: int) -> None:
    quick = QuickAnswer.model_validate_json(quick_value(ref, index))
    assert (quick.ref, quick.option) == (ref, index)
    step = StepOf.model_validate_json(step_metadata(ref, index))
    assert (step.ref, step.step) == (ref, index)


@pytest.mark.parametrize("value", ['{"t": "r", "o": "1"}', '{"t": 1, "o": 1}', '{"t": "r"}',
                                   "[]", "not json"])
def test_a_quick_value_of_another_shape_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        QuickAnswer.model_validate_json(value)


@pytest.mark.parametrize("value", ['{"ref": "r", "step": -1}', '{"ref": "r", "step": "0"}',
                                   '{"step": 0}', "x"])
def test_step_metadata_of_another_shape_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        StepOf.model_validate_json(value)


def test_quick_action_ids_are_numbered_and_older_bare_ids_still_match() -> None:
    assert [slack_ids.quick_action_id(i) for i in (0, 4)] == ["inloop_quick:0", "inloop_quick:4"]
    assert all(slack_ids.is_quick(a) for a in ("inloop_quick", "inloop_quick:0",
                                                "inloop_quick:12"))
    assert not any(slack_ids.is_quick(a) for a in ("inloop_quick:", "inloop_quick:x",
                                                    "inloop_quickly", "inloop_quick:123"))
