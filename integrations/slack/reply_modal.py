"""The modal a **Reply** click opens (`views.open`): the customer's latest post, a box for the
brand's public answer sized to the platform's limit, and "Resolve after sending".

Its `view_submission` comes back to `/slack/actions` (service.slack_views) with `callback_id`
CALLBACK_ID, the ticket id in `private_metadata`, the text at `state.values.reply.text` and the
checkbox at `state.values.resolve.resolve`: the contract with Slack, never renamed.
When Earshot cannot post on the ticket's platform, or the ticket cannot be answered, the modal
says why instead of offering the box.
"""

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from integrations.platforms import replies
from integrations.platforms.replies import ReplyConfig
from integrations.platforms.replies.limits import X_URL_WEIGHT
from integrations.slack.text import escape, fit
from store.schema import Mention, Ticket
from tickets.replies import answered_post

CALLBACK_ID = "ticket_reply"
REPLY_BLOCK, REPLY_INPUT = "reply", "text"
RESOLVE_BLOCK, RESOLVE_INPUT, RESOLVE_VALUE = "resolve", "resolve", "resolve"
INPUT_MAX_LENGTH = 3000  # Slack's ceiling for a plain_text_input's max_length
SHOWN_TEXT_LIMIT = 2000  # the customer's post as shown above the box: enough to answer it, not a wall
PLATFORM_NAMES = {"x": "X", "facebook": "Facebook", "instagram": "Instagram"}
TITLE = "Public reply"


def platform_name(source: str) -> str:
    return PLATFORM_NAMES.get(source, source)


def limit_hint(source: str) -> str:
    """How the platform counts a reply, and the box's own ceiling when Slack's is lower."""
    limit = replies.limit_for(source)
    if source == "x":
        hint = (f"X counts {limit} weighted characters: emoji and most non-Latin characters count 2, "
                f"each link {X_URL_WEIGHT}.")  # fmt: skip
    else:
        hint = f"{platform_name(source)} allows {limit:,} characters."
    if limit > INPUT_MAX_LENGTH:
        hint += f" This box takes {INPUT_MAX_LENGTH:,} (Slack's limit)."
    return hint + " The reply is posted in public, as the brand."


def _section(markup: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=markup, verbatim=True))


def _customer_post(ticket: Ticket, post: Mention) -> list:
    who = escape(ticket.author_handle or ticket.author_id)
    lead = f"*Ticket #{ticket.id}* · *{who}* wrote on {escape(platform_name(ticket.source))}:"
    return [_section(lead), _section(fit(post.text or "", SHOWN_TEXT_LIMIT) or " ")]


def _reply_inputs(source: str) -> list:
    box = PlainTextInputElement(action_id=REPLY_INPUT, multiline=True,
                                max_length=min(replies.limit_for(source), INPUT_MAX_LENGTH))  # fmt: skip
    resolve = CheckboxesElement(action_id=RESOLVE_INPUT,
                                options=[Option(value=RESOLVE_VALUE, label="Resolve after sending")])  # fmt: skip
    return [
        InputBlock(block_id=REPLY_BLOCK, label="Your public reply", element=box, hint=limit_hint(source)),
        InputBlock(block_id=RESOLVE_BLOCK, label="When it is sent", element=resolve, optional=True),
    ]


def refusal(ticket: Ticket, post: Mention | None, config: ReplyConfig) -> str | None:
    """Why the ticket cannot be answered from Slack now; None when it can."""
    if ticket.status == "resolved":
        return "This ticket is resolved."
    if post is None:
        return "There is no customer post to answer on this ticket."
    return replies.refusal(ticket.source, config)


def reply_view(session: Session, ticket: Ticket, config: ReplyConfig) -> dict:
    """The modal for `ticket`: the reply form, or why there is none."""
    post = answered_post(session, ticket)  # the post a reply would answer (tickets.replies.queue_reply)
    reason = refusal(ticket, post, config)
    if reason:
        body = [_section(f":no_entry: Earshot cannot answer ticket #{ticket.id} from Slack: {fit(reason, 2000)}")]
        if post is not None:
            body = _customer_post(ticket, post) + body
        view = View(type="modal", callback_id=CALLBACK_ID, private_metadata=str(ticket.id), title=TITLE,
                    close="Close", blocks=body)  # fmt: skip
        return view.to_dict()
    blocks = [*_customer_post(ticket, post), *_reply_inputs(ticket.source)]
    view = View(type="modal", callback_id=CALLBACK_ID, private_metadata=str(ticket.id), title=TITLE,
                submit="Send reply", close="Cancel", blocks=blocks)  # fmt: skip
    return view.to_dict()
