"""Reading a declarative `Jenkinsfile` into Facts: a small, tolerant reader of the declarative
syntax (blocks, calls, assignments, strings), with line numbers. Groovy is never executed; what
the reader does not understand is noted, not guessed."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ManifestError, Problem
from ..yamlio import read_text
from .facts import DECIDE, Facts, Schedule
from .jobs import JobInfo, record
from .shell import Command, expand, split_lines

FILE = "Jenkinsfile"
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+|\\\n)
  | (?P<newline>\n)
  | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'''.*?(?:'''|\Z)|\"\"\".*?(?:\"\"\"|\Z)|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
  | (?P<ident>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
  | (?P<number>\d[\w.]*)
  | (?P<punct>[{}()\[\],:;=]|[^\s\w'"{}()\[\],:;=]+)
""", re.S | re.X)
_MAX_DEPTH = 60
_STEP_BLOCKS = {"steps", "script", "dir", "withEnv", "timeout", "retry", "container", "node", "ws", "lock",
                "withCredentials", "withDockerRegistry", "docker.withRegistry", "catchError", "warnError",
                "sshagent", "withKubeConfig", "stage", "ansiColor", "timestamps", "withAWS", "configFileProvider"}


@dataclass
class Token:
    kind: str
    text: str
    line: int

    @property
    def value(self) -> str:
        """A string literal's content (escapes undone for the common cases), else the text."""
        if self.kind != "string":
            return self.text
        quote = 3 if self.text[:3] in ("'''", '"""') else 1
        body = self.text[quote:-quote]
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


@dataclass
class Node:
    """One statement: `name args { children }`, or `name = args` when `assign`."""

    name: str
    line: int
    args: list[Token] = field(default_factory=list)
    children: list[Node] | None = None
    assign: bool = False

    def first_string(self) -> str | None:
        return next((t.value for t in self.args if t.kind == "string"), None)

    def named(self, key: str) -> str | None:
        """The string value of `key: 'value'` among the arguments."""
        for index in range(len(self.args) - 2):
            a, b, c = self.args[index:index + 3]
            if a.text == key and b.text == ":" and c.kind == "string":
                return c.value
        return None

    def child(self, name: str) -> Node | None:
        return next((c for c in self.children or [] if c.name == name), None)


def tokenize(text: str, display: str) -> list[Token]:
    tokens, line, pos = [], 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # an unterminated string or comment: the rest is unreadable
            raise ManifestError([Problem(display, line, 1, "", "unreadable text (an unterminated string?)")])
        kind = match.lastgroup or "punct"
        if kind in ("string", "comment") and not _terminated(match.group()):
            # consumed to the end in one go: a scan from every later `/*` would be quadratic
            raise ManifestError([Problem(display, line, 1, "", f"unterminated {kind}")])
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group(), line))
        line += match.group().count("\n")
        pos = match.end()
    return tokens


def _terminated(text: str) -> bool:
    for opening, closing in (("/*", "*/"), ("'''", "'''"), ('"""', '"""')):
        if text.startswith(opening):
            return len(text) >= 2 * len(opening) and text.endswith(closing)
    return True


class _Parser:
    def __init__(self, tokens: list[Token], display: str) -> None:
        self.tokens, self.pos, self.display = tokens, 0, display

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def block(self, depth: int) -> list[Node]:
        """Statements up to the matching `}` (consumed) or the end."""
        if depth > _MAX_DEPTH:
            raise ManifestError([Problem(self.display, self.tokens[self.pos].line, 1, "", "nested too deeply")])
        nodes: list[Node] = []
        while (token := self.peek()) is not None:
            if token.text == "}":
                self.pos += 1
                return nodes
            if token.kind == "newline" or token.text == ";":
                self.pos += 1
                continue
            nodes.append(self.statement(depth))
        return nodes

    def statement(self, depth: int) -> Node:
        head = self.tokens[self.pos]
        self.pos += 1
        node = Node(head.text, head.line)
        if head.text == "@" and (token := self.peek()) is not None and token.kind == "ident":
            node.name, self.pos = "@" + token.text, self.pos + 1  # an annotation: @Library(...)
        elif head.kind != "ident":
            node.name = ""
        if (token := self.peek()) is not None and token.text == "=":
            node.assign = True
            self.pos += 1
        while (token := self.peek()) is not None and token.kind != "newline" and token.text not in ("{", "}", ";"):
            if token.text in ("(", "["):
                node.args.extend(self.group())
            else:
                node.args.append(token)
                self.pos += 1
        # `stage('x')\n{` is rare; a block opens on the same line as its head.
        if (token := self.peek()) is not None and token.text == "{":
            self.pos += 1
            node.children = self.block(depth + 1)
        return node

    def group(self) -> list[Token]:
        """A parenthesised or bracketed group, newlines inside dropped, nesting kept flat."""
        depth, found = 0, []
        while (token := self.peek()) is not None:
            self.pos += 1
            if token.text in ("(", "[", "{"):
                depth += 1
            elif token.text in (")", "]", "}"):
                depth -= 1
            if token.kind != "newline":
                found.append(token)
            if depth == 0:
                break
        return found


def parse(text: str, display: str) -> list[Node]:
    return _Parser(tokenize(text, display), display).block(0)


def read(root: Path, rel: str = FILE) -> Facts:
    facts = Facts(rel, "jenkins")
    nodes = parse(read_text(root / rel, rel), rel)
    pipeline = next((n for n in nodes if n.name == "pipeline" and n.children is not None), None)
    if pipeline is None:
        raise ManifestError([Problem(rel, 1, 1, "", "no `pipeline { ... }` block: only declarative Jenkinsfiles "
                                                     "can be imported")])
    for node in nodes:
        if node is not pipeline and node.name:
            what = "shared library" if node.name == "@Library" else f"`{node.name}`"
            facts.note(node.line, f"{what} outside the pipeline block not read")
    variables: dict[str, str] = {}
    _Reader(facts, variables).pipeline(pipeline)
    return facts


class _Reader:
    def __init__(self, facts: Facts, variables: dict[str, str]) -> None:
        self.facts, self.variables = facts, variables
        self.pending_approval: list[str] | None = None  # approvers of an input-only stage

    def pipeline(self, pipeline: Node) -> None:
        for node in pipeline.children or []:
            if node.name == "agent":
                label = _agent_label(node)
                if label:
                    self.facts.default_runner = [label]
                elif (node.args[0].text if node.args else "") not in ("any", "none"):
                    self.facts.note(node.line, "agent other than `any`, `none` or a label (docker, kubernetes)")
            elif node.name == "environment":
                self.environment(node, global_scope=True)
            elif node.name == "triggers":
                self.triggers(node)
            elif node.name == "stages":
                for stage in node.children or []:
                    self.stage(stage, {}, None)
            elif node.name:
                self.facts.note(node.line, f"`{node.name}` block")

    def environment(self, node: Node, global_scope: bool) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in node.children or []:
            if not entry.assign:
                continue
            call = entry.args[0].text if entry.args else ""
            if call == "credentials":
                credential = entry.first_string() or ""
                self.facts.secrets.append(entry.name)
                self.facts.note(entry.line, f"{entry.name} = credentials({credential!r}) became secret "
                                f"{entry.name!r}: ci-gen binds a secret-text credential whose id is the name; "
                                "rename the credential or the secret", DECIDE)
                continue
            value = entry.first_string() if len(entry.args) == 1 else None
            if value is None:
                self.facts.note(entry.line, f"environment {entry.name}: not a plain string")
                continue
            found[entry.name] = expand(value, {**self.variables, **found}) or value  # IMAGE = "${REGISTRY}/app"
            if global_scope:
                self.facts.variables[entry.name] = value  # as written: the manifest never expands `$`
                self.facts.variable_lines[entry.name] = (self.facts.file, entry.line)
        if global_scope:
            self.variables.update(found)
        return found

    def triggers(self, node: Node) -> None:
        for index, trigger in enumerate(node.children or []):
            cron = trigger.first_string()
            if trigger.name == "cron" and cron:
                for line_offset, spec in enumerate(s.strip() for s in cron.splitlines()):
                    if spec and not spec.startswith("#"):
                        name = "cron" if index == 0 and line_offset == 0 else f"cron-{index + line_offset + 1}"
                        self.facts.schedules.append(Schedule(self.facts.file, trigger.line, name, spec))
                        self.facts.note(trigger.line, f"cron {spec!r} runs the job's own branch; the draft "
                                        "schedules 'main' (set `branch:`)", DECIDE)
            else:
                self.facts.note(trigger.line, f"trigger `{trigger.name}`")

    def stage(self, stage: Node, env: dict[str, str], agent: str | None) -> None:
        if stage.name != "stage":
            self.facts.note(stage.line, f"`{stage.name}` in stages")
            return
        name = stage.first_string() or f"stage-{stage.line}"
        job = JobInfo(name, self.facts.file, stage.line, kind="stage")
        env = dict(env)
        for node in stage.children or []:
            if node.name == "agent":
                label = _agent_label(node)
                agent = label or agent
                docker = node.child("docker")
                if docker is not None:
                    image = docker.child("image")
                    job.image = image.first_string() if image is not None else docker.first_string()
                elif label is None:
                    self.facts.note(node.line, f"agent of stage {name!r}: only labels are read")
            elif node.name == "environment":
                env.update(self.environment(node, global_scope=False))
            elif node.name == "when":
                self.when(node, job)
            elif node.name == "input":
                job.approval = True
                submitter = node.child("submitter")
                job.approvers = _split(submitter.first_string() if submitter else node.named("submitter"))
            elif node.name in ("parallel", "stages"):
                for child in node.children or []:
                    self.stage(child, env, agent)
            elif node.name == "steps":
                self.steps(node.children or [], job, env)
            elif node.name in ("options", "post", "tools"):
                self.facts.note(node.line, f"`{node.name}` of stage {name!r}")
            elif node.name == "matrix":
                self.facts.note(node.line, f"matrix axes of stage {name!r}: its stages were read once")
                for child in (node.child("stages") or Node("", 0)).children or []:
                    self.stage(child, env, agent)
        if agent and re.search("gpu|cuda", agent, re.I):
            job.gpu = True
            self.facts.gpu_runner = self.facts.gpu_runner or [agent]
        if job.approval and not job.commands:
            self.pending_approval = job.approvers  # an input-only stage gates the deploy after it
            return
        if stage.child("steps") is None and (stage.child("parallel") or stage.child("stages") or stage.child("matrix")):
            return
        if self.pending_approval is not None and any("kubectl" in c.text or "helm" in c.text for c in job.commands):
            job.approval, job.approvers, self.pending_approval = True, job.approvers or self.pending_approval, None
        record(job, self.facts, {**self.variables, **env})

    def when(self, node: Node, job: JobInfo) -> None:
        for condition in node.children or []:
            if condition.name == "branch" and condition.first_string() and not condition.named("pattern"):
                job.branch = condition.first_string()
            elif condition.name == "beforeInput":
                continue
            else:
                self.facts.note(condition.line, f"`when {{ {condition.name} }}` of stage {job.name!r}")

    def steps(self, nodes: list[Node], job: JobInfo, env: dict[str, str]) -> None:
        for step in nodes:
            if step.name in ("sh", "bat", "powershell"):
                script = step.named("script") or step.first_string()
                if script is None:
                    continue
                resolved = expand(script, {**self.variables, **env})
                job.commands.extend(split_lines(self.facts.file, step.line, resolved if resolved else script))
            elif step.name == "input":
                job.approval = True
                job.approvers = job.approvers or _split(step.named("submitter"))
            elif step.name == "withCredentials":
                self.credentials(step, job)
                self.steps(step.children or [], job, env)
            elif step.name in ("docker.withRegistry", "withDockerRegistry"):
                ids = [t.value for t in step.args if t.kind == "string"]
                if len(ids) >= 2:
                    self.bind("registry", ids[1], step.line)
                self.steps(step.children or [], job, env)
            elif step.name in _STEP_BLOCKS and step.children is not None:
                if step.name == "script":
                    self.facts.note(step.line, f"script block in stage {job.name!r}: Groovy is not run, only its `sh`, "
                                    "`docker.build` and `withRegistry` steps were read")
                self.steps(step.children, job, env)
            elif step.name in ("echo", "def", "") or step.assign and not step.children:
                if any(t.text == "docker.build" for t in step.args):
                    self.docker_build(step, job)
            elif step.name == "docker.build":
                self.docker_build(step, job)
            elif step.name.endswith(".push") or step.name.endswith(".tag"):
                continue  # pushing the image built by docker.build: ci-gen's build step pushes
            else:
                self.facts.note(step.line, f"step `{step.name}` in stage {job.name!r}")

    def docker_build(self, step: Node, job: JobInfo) -> None:
        strings = [t.value for t in step.args if t.kind == "string"]
        if strings:
            words = ["docker", "build", "-t", strings[0]] + (strings[1].split() if len(strings) > 1 else ["."])
            job.commands.append(Command(self.facts.file, step.line, shlex.join(words)))

    def bind(self, role: str, credential: str, line: int) -> None:
        first = self.facts.credentials.setdefault(role, credential)
        if first != credential:
            self.facts.note(line, f"credential {credential!r} is another {role} than {first!r}: ci-gen binds one "
                            f"`jenkins.credentials.{role}` for every stage", DECIDE)

    def credentials(self, step: Node, job: JobInfo) -> None:
        text = [t.text for t in step.args]
        for index, word in enumerate(text):
            if word not in ("usernamePassword", "file", "string", "sshUserPrivateKey", "usernameColonPassword"):
                continue
            inner = Node(word, step.line, step.args[index:])
            credential = inner.named("credentialsId")
            if credential is None:
                continue
            if word in ("usernamePassword", "usernameColonPassword"):
                self.bind("registry", credential, step.line)
            elif word == "file" and re.search("kube", credential + (inner.named("variable") or ""), re.I):
                job.kubeconfig = credential  # per environment: staging need not hold production's keys
            elif word == "file" and "cosign" in credential.lower():
                self.bind("cosign", credential, step.line)
            else:
                self.facts.note(step.line, f"credential {credential!r} ({word}) in stage {job.name!r} not mapped: "
                                "list it under `secrets:` if a test needs it", DECIDE)


def _split(submitter: str | None) -> list[str]:
    return [s.strip() for s in (submitter or "").split(",") if s.strip()]


def _agent_label(node: Node) -> str | None:
    label = node.first_string() if node.args and node.args[0].text == "label" else None
    for child in node.children or []:
        if child.name == "label":
            label = child.first_string()
        elif child.name == "node":
            inner = child.child("label")
            label = inner.first_string() if inner else label
    return label
