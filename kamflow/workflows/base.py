"""A workflow is a table: states, transitions and the names of their guards.

Each table builds one shared ``transitions.Machine`` (``model=None``, no auto
transitions), once, the first time a command needs it. The machine answers "may this
trigger fire from that state, and where does it lead"; the aggregate keeps the state as
a plain string and evaluates the named guards itself, so the machine never holds a
reference to an account (ADR 0007). Diagrams and structural checks are
computed from the same machine.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transitions import Machine


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: tuple[str, ...]
    dest: str
    # Names of guards the domain evaluates before the event is recorded.
    guards: tuple[str, ...] = ()
    # Fired by kamflow itself as a side effect of another command, never typed by users.
    internal: bool = False
    # The event(s) that record this step: the aggregate's state change, the views'
    # status columns and the history check (domain/conformance.py) all read this row.
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    description: str
    states: tuple[str, ...]
    initial: str
    finals: tuple[str, ...]
    transitions: tuple[Transition, ...]

    @cached_property
    def machine(self) -> Machine:
        """The shared machine, built on first use: most commands touch no workflow, and
        importing transitions would only slow their start-up."""
        import transitions

        return transitions.Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            auto_transitions=False,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": list(t.source),
                    "dest": t.dest,
                    # Kept on the machine so diagrams show them; never called, since no
                    # model is ever attached to the machine.
                    "conditions": list(t.guards),
                }
                for t in self.transitions
            ],
        )

    # ---------------------------------------------------------------- events
    def recorded_by(self, event: str) -> tuple[Transition, ...]:
        """The rows whose step ``event`` records, in table order."""
        return tuple(t for t in self.transitions if event in t.events)

    def events(self) -> set[str]:
        """Every event that records a step of this workflow."""
        return {e for t in self.transitions for e in t.events}

    def state_after(self, event: str) -> str:
        """The state ``event`` leaves a subject in, for workflows where each event has one
        destination (complaint, lifecycle steps other than activate)."""
        dests = {t.dest for t in self.recorded_by(event)}
        if len(dests) != 1:
            raise LookupError(f"{event} leads to {sorted(dests)} in workflow {self.name}")
        return dests.pop()

    def fire(self, state: str, trigger: str) -> str:
        """Where an internal ``trigger`` takes ``state``; ``state`` itself where the row
        does not apply (e.g. `activate` of an account that is already active). Read from
        the table, not the machine: replaying history never builds a machine."""
        for t in self.transitions:
            if t.trigger == trigger and state in t.source:
                return t.dest
        return state

    # ---------------------------------------------------------------- queries
    @cached_property
    def _moves(self) -> dict[tuple[str, str], tuple[str | None, tuple[str, ...]]]:
        # (state, trigger) -> (dest, guards), as the machine answered: it never changes
        # once built, and a bulk load asks the same few questions ~20,000 times.
        return {}

    def _move(self, state: str, trigger: str) -> tuple[str | None, tuple[str, ...]]:
        key = (state, trigger)
        known = self._moves.get(key)
        if known is None:
            found = (
                self.machine.get_transitions(trigger=trigger, source=state)
                if trigger in self.machine.events
                else []
            )
            known = self._moves[key] = (
                (str(found[0].dest), tuple(str(c.func) for c in found[0].conditions))
                if found
                else (None, ())
            )
        return known

    def dest(self, state: str, trigger: str) -> str | None:
        """Where ``trigger`` leads from ``state``, or None if the machine forbids it."""
        return self._move(state, trigger)[0]

    def guards(self, state: str, trigger: str) -> tuple[str, ...]:
        return self._move(state, trigger)[1]

    def triggers(self, state: str) -> list[str]:
        """Triggers a user may fire from ``state``, in table order."""
        allowed = set(self.machine.get_triggers(state))
        internal = {t.trigger for t in self.transitions if t.internal}
        return [t for t in self.trigger_names() if t in allowed and t not in internal]

    def trigger_names(self) -> list[str]:
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def edges(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """(source, dest, trigger, guards) for every transition the machine holds."""
        out: list[tuple[str, str, str, tuple[str, ...]]] = []
        for trigger, event in self.machine.events.items():
            for source, transitions in event.transitions.items():
                for t in transitions:
                    guards = tuple(str(c.func) for c in t.conditions)
                    out.append((source, str(t.dest), trigger, guards))
        return out

    def reachable(self, start: str | None = None) -> set[str]:
        seen = {start or self.initial}
        queue = deque(seen)
        while queue:
            state = queue.popleft()
            for source, dest, _, _ in self.edges():
                if source == state and dest not in seen:
                    seen.add(dest)
                    queue.append(dest)
        return seen

    # ---------------------------------------------------------------- exports
    def mermaid(self) -> str:
        lines = ["stateDiagram-v2", "  direction LR", f"  [*] --> {_mid(self.initial)}"]
        for state in self.states:
            lines.append(f'  state "{state}" as {_mid(state)}')
        for source, dest, trigger, guards in self.edges():
            label = trigger + (f" [{', '.join(guards)}]" if guards else "")
            lines.append(f"  {_mid(source)} --> {_mid(dest)}: {label}")
        for final in self.finals:
            lines.append(f"  {_mid(final)} --> [*]")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "initial": self.initial,
            "finals": list(self.finals),
            "states": list(self.states),
            "transitions": [
                {"trigger": trigger, "source": source, "dest": dest, "guards": list(guards)}
                for source, dest, trigger, guards in self.edges()
            ],
        }


def _mid(state: str) -> str:
    """A Mermaid identifier for a state name (hyphens are not allowed there)."""
    return state.replace("-", "_")
