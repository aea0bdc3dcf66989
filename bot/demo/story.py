"""The demo's script: set-up through the CLI, a request, an approval, the link, a warning and the end."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.request import urlopen

from bot.clock import utcnow
from bot.demo.render import Transcript
from bot.demo.stage import DemoFailed, Stage
from bot.demo.world import ALICE, BOB, CHANNEL, CHANNEL_NAME, DemoWorld
from bot.domain.states import RequestStatus, SessionStatus
from bot.slack.ids import Action
from storage.models import AccessRequest, AccessSession, AuditEvent

__all__ = ["DemoFailed", "Story"]
ASK = "access prod-aws readonly 30m checking INC-42"
BREAK_GLASS = "break-glass prod-aws readonly 15m INC-99 the database is down"


class Story(Stage):
    """Plays the scenario against a running `DemoWorld` and narrates it into a `Transcript`."""

    def __init__(self, world: DemoWorld, out: Transcript, **options: Any) -> None:
        super().__init__(world, out, **options)
        self.ref = ""
        self.link = ""

    def connect_aws(self) -> None:
        self.cli("db", "upgrade")  # creates the database and its ExternalId: no other command makes one up
        info = json.loads(self.cli("setup", "--json"))
        self.show()
        self.out.say(f"    ExternalId:               {info['external_id']}  (generated once, stored)")
        self.out.say(f"    pam-bot's AWS principal:  {info['principal']}")
        documents = {document["key"]: document for document in info["policies"]}
        for document in info["policies"]:
            self.out.say(f"    · {document['title']}: {json.dumps(document['document'])}")
        self.out.say("  (the AWS admin pastes those documents into two new roles: the Resource Role and the "
                     "Target Role)")
        resource_name, target_name = self.free_name("pam-bot-resource"), self.free_name("pam-readonly")
        account = info["principal"].split(":")[4]
        resource = f"arn:aws:iam::{account}:role/{resource_name}"
        # The admin writes the Target Role's name where setup left a placeholder, and the real Resource Role ARN.
        permissions = json.loads(json.dumps(documents["resource_role_permissions:new"]["document"])
                                 .replace("pam-bot-resource", resource_name).replace("TARGET-ROLE-NAME", target_name))
        self.world.aws.create_role(resource_name, documents["resource_role_trust"]["document"],
                                   permissions=permissions)
        suggested = documents["target_role_trust:new"]["document"]["Statement"][0]["Principal"]["AWS"]
        trust = json.loads(json.dumps(documents["target_role_trust:new"]["document"]).replace(suggested, resource))
        target = self.world.aws.create_role(target_name, trust)
        self.roles = {resource: "hop 1: Resource Role", target: "hop 2: Target Role"}
        self.cli("resource", "add", "prod-aws", "--role-arn", resource, "--description", "Production account",
                 echo=True)
        self.show()
        self.cli("account", "add", "prod-aws", "readonly", "--role-arn", target, "--duration", "1h",
                 "--approvers", BOB, "--channel", CHANNEL, "--requesters", ALICE, "--description", "Read-only console for on-call", echo=True)
        self.show()

    def free_name(self, name: str) -> str:
        """The suggested role name, or a suffixed one when this process made it already."""
        iam = self.world.aws.iam()
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return name
        return f"{name}-{self.world.suffix}"

    def start_bot(self) -> None:
        self.world.start_bot()
        with urlopen(f"{self.world.url}/healthz", timeout=5) as response:  # noqa: S310 - local server
            health = response.read().decode()
        self.out.say(f"  pam-bot serves {self.world.url}/slack/events (every request signed like Slack's)")
        self.out.say(f"  GET /healthz → {response.status} {health}")
        self.show()

    def ask(self) -> None:
        self.out.say(f"  alice  › /pam {ASK}")
        self.check(self.driver().command(ALICE, ASK).status == 200, "the bot did not acknowledge /pam with 200")
        self.wait("response_url", "is waiting for approval", "alice was never told her request is waiting")
        self.wait("chat.postMessage", "asks for", f"no approval card appeared in #{CHANNEL_NAME}",
                  lambda c: c.args.get("channel") == CHANNEL)
        requests = self.rows(AccessRequest)
        self.check(len(requests) == 1 and requests[0].status == RequestStatus.PENDING,
                   "the request was not stored as pending")
        self.ref = requests[0].ref
        self.show(actor="alice")

    def approve(self) -> None:
        card = self.world.slack.messages(CHANNEL)[-1]
        self.out.say(f"  bob    › clicks [Approve] on {self.ref} in #{CHANNEL_NAME}")
        response = self.driver().click(BOB, Action.APPROVE.value, self.ref, channel_id=CHANNEL, message_ts=card["ts"])
        self.check(response.status == 200, "the bot did not acknowledge the click with 200")
        dm = self.wait("chat.postMessage", "Open AWS Console", "alice never received the console link by DM",
                       lambda c: c.response.get("channel") == f"D{ALICE}")
        self.wait("chat.update", "Granted", "the approval card was never updated to Granted")
        self.link = next((e["url"] for b in _blocks(dm.args) for e in b.get("elements", []) if e.get("url")), "")
        self.check(bool(self.link), "the DM carries no console link")
        self.out.hide(self.link)
        self.show(actor="bob")
        with urlopen(self.link, timeout=5) as response:  # noqa: S310 - the local federation stub
            signed_in = response.read().decode()
        self.check(response.status == 200 and "Signed in as" in signed_in, "the console link did not sign in")
        self._seen["federation"] = len(self.world.federation.calls())
        self.out.say(f"  alice  › opens the link: the console opens as {signed_in.removeprefix('Signed in as ')}")
        self.check(self.rows(AccessRequest)[0].status == RequestStatus.GRANTED, f"{self.ref} is not marked granted")

    def warn(self) -> None:
        session = self.session()
        self.jump(session.expires_at - timedelta(minutes=4))
        self.check(self.tick().warned == 1, "the scheduler's tick sent no expiry warning")
        self.wait("chat.postMessage", "ends", "alice never received the expiry warning",
                  lambda c: c.response.get("channel") == f"D{ALICE}" and "Request again" in json.dumps(c.args))
        self.show()

    def end(self) -> None:
        session = self.session()
        self.jump(session.expires_at + timedelta(seconds=1))
        self.check(self.tick().ended == 1, "the scheduler's tick ended no session")
        self.wait("chat.postMessage", "has ended", "alice never received the end notice",
                  lambda c: c.response.get("channel") == f"D{ALICE}")
        self.check(self.session().status == SessionStatus.ENDED, "the session is not marked ended")
        self.show()

    def on_call(self) -> None:
        # AWS stamps every session with its own clock; the story's clock returns to it for the next night.
        self.world.clock.set(utcnow())
        self.out.say("  ⏪ a new night: the demo clock is back on AWS's time")
        self.cli("account", "update", "prod-aws", "readonly", "--break-glass", "--max-extensions", "1",
                 "--extend-without-approval", echo=True)
        self.show()
        self.break_glass()
        self.extend()
        self.scheduled()

    def break_glass(self) -> None:
        self.out.say(f"  alice  › /pam {BREAK_GLASS}")
        before = len(self.rows(AccessRequest))
        self.check(self.driver().command(ALICE, BREAK_GLASS).status == 200, "the bot did not acknowledge /pam")
        card = self.wait("chat.postMessage", "Break-glass access", "no red break-glass card appeared",
                         lambda c: c.args.get("channel") == CHANNEL)
        self.wait("chat.postMessage", "used *break-glass*", "bob was never told of the break-glass",
                  lambda c: c.response.get("channel") == f"D{BOB}")
        ref = self._new_request(before).ref
        self._link_for(ref)
        self.wait("response_url", f"Break-glass {ref}", "alice was never told her break-glass went through")
        self.show(actor="alice")
        self.out.say(f"  bob    › clicks [Reviewed] on {ref} in #{CHANNEL_NAME}")
        response = self.driver().click(BOB, Action.BREAK_GLASS_REVIEWED.value, ref, channel_id=CHANNEL,
                                       message_ts=card.response["ts"])
        self.check(response.status == 200, "the bot did not acknowledge the click with 200")
        self.wait("chat.update", "Reviewed by", "the break-glass card never said who reviewed it")
        self.wait("response_url", "marked as reviewed", "bob was never told his review was recorded")
        self.show(actor="bob")

    def extend(self) -> None:
        session = self.rows(AccessSession)[-1]
        self.jump(session.expires_at - timedelta(minutes=4))
        self.check(self.tick().warned == 1, "the scheduler's tick sent no expiry warning")
        warning = self.wait("chat.postMessage", "pam_extend", "the expiry warning offered no Extend",
                            lambda c: c.response.get("channel") == f"D{ALICE}" and session.ref in json.dumps(c.args))
        self.out.say(f"  alice  › clicks [Extend] on {session.ref}")
        before = len(self.rows(AccessRequest))
        response = self.driver().click(ALICE, Action.EXTEND.value, session.ref, channel_id=f"D{ALICE}",
                                       message_ts=warning.response["ts"])
        self.check(response.status == 200, "the bot did not acknowledge the click with 200")
        self._link_for(self._new_request(before).ref)
        self.check(self.rows(AccessSession)[-1].continues == session.ref, "the new session does not continue the old")
        self.wait("response_url", "Extended", "alice was never told her session is extended")
        self.show(actor="alice")

    def scheduled(self) -> None:
        start = (self.world.clock() + timedelta(minutes=3)).strftime("%H:%M")  # the demo's people live in UTC
        asked = f"access prod-aws readonly 30m at {start} change window CHG-7"
        self.out.say(f"  alice  › /pam {asked}")
        before = len(self.rows(AccessRequest))
        self.check(self.driver().command(ALICE, asked).status == 200, "the bot did not acknowledge /pam")
        self.wait("response_url", "starting", "alice was never told when her request starts")
        request = self._new_request(before)
        card = self.wait("chat.postMessage", "Scheduled", "no approval card for the change window",
                         lambda c: c.args.get("channel") == CHANNEL and request.ref in json.dumps(c.args))
        self.show(actor="alice")
        self.out.say(f"  bob    › clicks [Approve] on {request.ref} in #{CHANNEL_NAME}")
        self.driver().click(BOB, Action.APPROVE.value, request.ref, channel_id=CHANNEL, message_ts=card.response["ts"])
        self.wait("chat.postMessage", "is approved. The console link comes", "alice was never told it is approved")
        self.show(actor="bob")
        assert request.starts_at is not None
        self.jump(request.starts_at)
        self.check(self.tick().started == 1, "the scheduler did not grant the change window at its start")
        self._link_for(request.ref)
        self.show()

    def _new_request(self, before: int) -> AccessRequest:
        """The request made after there were `before` of them (the worker writes it after the ack)."""
        self.check(self._poll(lambda: len(self.rows(AccessRequest)) > before, timedelta(seconds=self.wait_seconds)),
                   "the bot made no request")
        return self.rows(AccessRequest)[before]

    def _link_for(self, ref: str) -> None:
        """Wait for the grant of request `ref` and its link DM (the link is hidden from the transcript)."""
        deadline = timedelta(seconds=self.wait_seconds)
        self.check(self._poll(lambda: any(s.request_id == r.id for r in self.rows(AccessRequest) if r.ref == ref
                                          for s in self.rows(AccessSession)), deadline), f"{ref} was not granted")
        session = next(s for s in self.rows(AccessSession) for r in self.rows(AccessRequest)
                       if r.ref == ref and s.request_id == r.id)
        dm = self.wait("chat.postMessage", "Open AWS Console", f"alice never received the link of {session.ref}",
                       lambda c: c.response.get("channel") == f"D{ALICE}" and session.ref in json.dumps(c.args))
        for block in _blocks(dm.args):
            for element in block.get("elements", []):
                if element.get("url"):
                    self.out.hide(element["url"])

    def audit(self) -> None:
        names = self.world.name_of
        for event in self.rows(AuditEvent):
            actor = names(event.actor) if event.actor.startswith("U") else event.actor
            self.out.say(f"    {actor:<9} {event.action:<34} {event.target:<18} {event.outcome}")
        self.cli("audit", "verify", echo=True)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks
