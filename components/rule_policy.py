"""Rasa's RulePolicy, working out the conversation's past states once per prediction.

Right after a patient's message, RulePolicy looks for a matching rule twice:
once with the message's text, once with its intent. Each look rebuilds the
states of the whole session, replaying every event from the session start
(``Domain.states_for_tracker_history``); the two builds are identical, only
the last user turn is then shown as text or as intent. Rebuilding took about
a sixth of the Rasa server's CPU per message (`make profile`).

This policy builds the states once per prediction and gives each look its
own copy of every state's user part, which is the only part the featurizer
changes afterwards (``_choose_last_user_input`` and
``_remove_user_text_if_intent``). Nothing is kept between predictions: the
tracker changes between them. Rules, training and settings are Rasa's.
``tests/test_rule_policy.py`` checks that whole conversations get the same
predictions as with Rasa's RulePolicy.

Rasa's config validator looks for its own class by identity: it warns at
training that "'RulePolicy' is not included in the model's policy
configuration" (wrong: the default restart and back handling is inherited)
and skips its check that ``core_fallback_action_name`` is in the domain, so
``train`` runs that check itself.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy as RasaRulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker


def _own_copy(states: List[State]) -> List[State]:
    """New state dicts with new user parts; the rest is never changed, so shared."""
    return [{**state, USER: dict(state[USER])} if USER in state else dict(state) for state in states]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class RulePolicy(RasaRulePolicy):
    """RulePolicy that builds a tracker's past states once per prediction."""

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Check the fallback action against the domain (as Rasa's validator would), then train as Rasa does."""
        self.raise_if_incompatible_with_domain(self.config, domain)
        return super().train(training_trackers, domain, **kwargs)

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
            if for_tracker is not tracker or for_domain is not domain:
                return create_states(for_tracker, for_domain, omit_unset_slots=omit_unset_slots,
                                     ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
            # RulePolicy passes a new but equal rule_only_data dict each time: key on its content.
            key = (omit_unset_slots, ignore_rule_only_turns, repr(sorted((rule_only_data or {}).items())))
            if key not in built:
                built[key] = create_states(tracker, domain, omit_unset_slots=omit_unset_slots,
                                           ignore_rule_only_turns=ignore_rule_only_turns,
                                           rule_only_data=rule_only_data)
            return _own_copy(built[key])

        # The featurizer calls self._create_states: shadow it for this prediction only.
        self.featurizer._create_states = create_once
        try:
            return super()._predict(tracker, domain)
        finally:
            del self.featurizer._create_states
