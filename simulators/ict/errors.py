"""Typed errors of the ICT simulator."""


class IctConfigError(ValueError):
    """The scenario's ``ict:`` section is invalid; the message names the field."""


class IctInputError(ValueError):
    """A message batch refers to something the network does not know.

    E.g. a household id outside ``0 .. n_households-1``. Fix the sender's ids or
    pass the right ``n_households`` to the ICT simulator.
    """
