"""Rasa's RulePolicy, without rebuilding the conversation's past states for every look.

Right after a patient's message, RulePolicy looks for a matching rule twice:
once with the message's text, once with its intent. Each look rebuilt the
states of the whole session, replaying every event from the session start
(``Domain.states_for_tracker_history``); the two builds are identical, only
the last user turn is then shown as text or as intent. And each message
needs two or three predictions, each rebuilding the session again.

This policy

- builds the states once per prediction and gives each look its own copy of
  every state's user part, which is the only part the featurizer changes
  afterwards (``_choose_last_user_input`` and ``_remove_user_text_if_intent``);
- keeps each conversation's states, and the replayed tracker, up to its latest
  user message (``SessionStates``), and builds on from there while the
  conversation only grows by events that change nothing before them (user and
  bot messages, slots, actions other than a form's, the featurization marker);
  anything else (a restart, an undo, a new session, a form, a tracker that
  does not continue the kept events object by object) is rebuilt from the
  start, as Rasa does;
- looks a rule up only among the rules that do not ask for another previous
  action than the conversation's newest one, and stops once the remaining
  rules are shorter than the turns looked at (``_get_possible_keys``);
- formats its debug text of the states only when Rasa logs at debug level.

Rules, training and settings are Rasa's; training uses Rasa's lookup.
``tests/test_rule_policy.py`` checks that whole conversations get the same
predictions as with Rasa's RulePolicy, the same states as Rasa's rebuild on
every prediction and the same rules as Rasa's lookup.

Rasa's config validator looks for its own class by identity: it warns at
training that "'RulePolicy' is not included in the model's policy
configuration" (wrong: the default restart and back handling is inherited)
and skips its check that ``core_fallback_action_name`` is in the domain, so
``train`` runs that check itself.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, FrozenSet, List, NamedTuple, Optional, Set, Text, Tuple

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy as RasaRulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME

from rasa_patches.tracker_copy import KEEP_SECONDS, continues, copy_of, forget_least_recent

# Conversations whose states are kept between predictions (a few KB each), for
# KEEP_SECONDS after their latest message, as the tracker store keeps its copies.
KEEP_CONVERSATIONS = 256
# Events that only add to a conversation: Rasa's applied_events() keeps them as
# they are (no session start, restart, undo or loop re-run), and they change
# no earlier state. Anything else after the kept point means a full rebuild.
PLAIN_EVENTS = (UserUttered, BotUttered, SlotSet, ActionExecuted, DefinePrevUserUtteredFeaturization)


class _Kept(NamedTuple):
    events: List[Event]  # the conversation's events before its latest user message
    replay: DialogueStateTracker  # Rasa's replay of the conversation up to there
    states: List[State]  # the states of the turns before there
    domain: Domain
    omit_unset_slots: bool
    loop_names: FrozenSet[Text]  # the conversation's loops (forms) then
    since: float  # time.monotonic() when kept


def _plain(event: Event, loop_names: FrozenSet[Text]) -> bool:
    """Whether Rasa's applied_events() takes the event as it is, changing nothing before it."""
    if isinstance(event, ActionExecuted):
        return event.action_name not in loop_names
    return isinstance(event, PLAIN_EVENTS)


class SessionStates:
    """Each conversation's past states, kept at its latest user message and built on from there."""

    def __init__(self) -> None:
        """Keep nothing yet."""
        self._kept: Dict[Optional[Text], _Kept] = {}

    def states(self, tracker: DialogueStateTracker, domain: Domain, omit_unset_slots: bool) -> List[State]:
        """``domain.states_for_tracker_history(tracker, omit_unset_slots)``, from the kept states if they still hold."""
        events = list(tracker.events)
        kept = self._kept.get(tracker.sender_id)
        if kept is not None and time.monotonic() - kept.since >= KEEP_SECONDS:
            kept = None
        if kept is not None and self._continues(kept, events, domain, omit_unset_slots):
            start, loop_names = len(kept.events), kept.loop_names
            replay, states, todo = copy_of(kept.replay), list(kept.states), events[start:]
        else:
            start, loop_names = 0, frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)
            # Rasa's generate_all_prior_trackers(): a fresh tracker, then the applied events.
            replay, states, todo = tracker.init_copy(), [], tracker.applied_events()
        # Keep the states at the latest user message if only plain events follow it:
        # then the applied events end with exactly those events.
        latest = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=None)
        cut = None
        if latest is not None and latest > start and all(_plain(e, loop_names) for e in events[latest:]):
            cut = len(todo) - (len(events) - latest)
            if cut < 0 or todo[cut] is not events[latest]:
                cut = None
        new: Optional[_Kept] = None
        for i, event in enumerate(todo):
            if i == cut:
                new = _Kept(
                    events[:latest],
                    copy_of(replay),
                    list(states),
                    domain,
                    omit_unset_slots,
                    loop_names,
                    time.monotonic(),
                )
            if isinstance(event, ActionExecuted):
                states.append(self._state(domain, replay, omit_unset_slots))
            replay.update(event)
        states.append(self._state(domain, replay, omit_unset_slots))
        if new is not None:
            self._kept.pop(tracker.sender_id, None)
            self._kept[tracker.sender_id] = new
            forget_least_recent(self._kept, KEEP_CONVERSATIONS, KEEP_SECONDS, new.since)
        elif start == 0:
            self._kept.pop(tracker.sender_id, None)  # nothing to keep from this tracker
        return states

    @staticmethod
    def _continues(kept: _Kept, events: List[Event], domain: Domain, omit_unset_slots: bool) -> bool:
        """Whether the events are the kept ones (the same objects), then only plain events."""
        return (
            kept.domain is domain
            and kept.omit_unset_slots == omit_unset_slots
            and continues(events, kept.events)
            and all(_plain(e, kept.loop_names) for e in events[len(kept.events) :])
        )

    @staticmethod
    def _state(domain: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool) -> State:
        """One turn's state, as Rasa's states_for_tracker_history makes it (no rule-only turns ignored)."""
        return domain._clean_state(domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots))


def _own_copy(states: List[State]) -> List[State]:
    """Copy the states into new state dicts with new user parts; the rest is never changed, so shared."""
    return [{**state, USER: dict(state[USER])} if USER in state else dict(state) for state in states]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RulePolicy(RasaRulePolicy):
    """RulePolicy that builds a tracker's past states once per prediction."""

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Check the fallback action against the domain (as Rasa's validator would), then train as Rasa does."""
        self.raise_if_incompatible_with_domain(self.config, domain)
        self.__dict__["_training"] = True  # the rule index below is for serving only
        try:
            return super().train(training_trackers, domain, **kwargs)
        finally:
            self.__dict__["_training"] = False

    @property
    def _session_states(self) -> SessionStates:
        """The conversations' kept states (made on first use)."""
        kept = self.__dict__.get("_kept_session_states")
        if kept is None:
            kept = self.__dict__["_kept_session_states"] = SessionStates()
        return kept

    def _predict(self, tracker: DialogueStateTracker, domain: Domain) -> Tuple[PolicyPrediction, Optional[Text]]:
        """Rasa's prediction, with the states built at most once for this tracker."""
        built: Dict[Tuple[Any, ...], List[State]] = {}
        create_states = self.featurizer._create_states

        def create_once(
            for_tracker: DialogueStateTracker,
            for_domain: Domain,
            omit_unset_slots: bool = False,
            ignore_rule_only_turns: bool = False,
            rule_only_data: Optional[Dict[Text, Any]] = None,
        ) -> List[State]:
            def rasas() -> List[State]:
                return create_states(
                    for_tracker,
                    for_domain,
                    omit_unset_slots=omit_unset_slots,
                    ignore_rule_only_turns=ignore_rule_only_turns,
                    rule_only_data=rule_only_data,
                )

            if for_tracker is not tracker or for_domain is not domain:
                return rasas()
            # RulePolicy passes a new but equal rule_only_data dict each time: key on its content.
            key = (omit_unset_slots, ignore_rule_only_turns, repr(sorted((rule_only_data or {}).items())))
            if key not in built:
                # What RulePolicy asks for when serving goes on from the kept states.
                serving = not ignore_rule_only_turns and type(tracker) is DialogueStateTracker
                built[key] = self._session_states.states(tracker, domain, omit_unset_slots) if serving else rasas()
            return _own_copy(built[key])

        # The featurizer calls self._create_states: shadow it for this prediction only.
        self.featurizer._create_states = create_once
        try:
            return super()._predict(tracker, domain)
        finally:
            del self.featurizer._create_states

    def _get_possible_keys(self, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
        """Do Rasa's rule lookup on fewer rules; stop once the remaining ones are all shorter than the turns looked at.

        Rasa checks every rule against every past state, newest first. A rule
        whose newest state asks for a previous action other than the
        conversation's fails at the newest state (``_is_rule_applicable``), so
        only the others are checked (``_rule_candidates``). A rule is
        applicable at a turn further back than its own length, so once every
        remaining rule is that short the set cannot change.
        """
        possible_keys = self._rule_candidates(lookup, states)
        for i, state in enumerate(reversed(states)):
            if all(len(self._rule_key_to_state(key)) <= i for key in possible_keys):
                break
            possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, i, state)}
        return possible_keys

    def _rule_candidates(self, lookup: Dict[Text, Text], states: List[State]) -> Set[Text]:
        """Return the rules that do not ask for another previous action than the conversation's newest state has."""
        if not states or self.__dict__.get("_training"):
            return set(lookup)
        indexes = self.__dict__.setdefault("_rule_indexes", {})
        cached = indexes.get(id(lookup))
        if cached is None or cached[0] is not lookup or cached[1] != len(lookup):
            by_action: Dict[Optional[Text], Set[Text]] = {}
            for key in lookup:
                rule_states = self._rule_key_to_state(key)
                wanted = (rule_states[-1].get(PREVIOUS_ACTION) or {}).get(ACTION_NAME) if rule_states else None
                if not isinstance(wanted, str) or not wanted or wanted == SHOULD_NOT_BE_SET:
                    wanted = None  # no previous action asked for: always a candidate
                by_action.setdefault(wanted, set()).add(key)
            cached = indexes[id(lookup)] = (lookup, len(lookup), by_action)
        by_action = cached[2]
        current = (states[-1].get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
        candidates = set(by_action.get(None, ()))
        if current is not None:
            candidates |= by_action.get(current, set())
        return candidates

    @staticmethod
    def format_tracker_states(states: List[State]) -> Text:
        """Rasa's debug text of the states, made only when Rasa logs at debug level.

        RulePolicy formats (and deep-copies) every state of the session for its
        debug log line on each prediction, at any log level.
        """
        if logging.getLogger("rasa.core.policies.rule_policy").isEnabledFor(logging.DEBUG):
            return Policy.format_tracker_states(states)
        return ""
