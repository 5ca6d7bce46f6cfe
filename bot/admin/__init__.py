"""What moderators and members see and change about a server's video limits, as pure functions.

The cogs (`cogs/limits.py`, `cogs/members.py`) only copy slash-command options into plain values, call
these functions, and send the result; everything that can be wrong with a moderator's input is decided
here and raised as `Refusal`, whose text is what the moderator reads.
"""
