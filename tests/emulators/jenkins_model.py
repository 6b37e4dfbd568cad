"""Jenkins items, their config.xml as Jenkins stores it, builds and queue items.

config.xml is parsed with xml.etree and written back the way XStream does it (an XML 1.1
declaration, `plugin="..."` attributes, defaults filled in), so a byte comparison of what was
posted with what is read back differs exactly as it does on a real server (contract A.5).
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
CPS = "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
CPS_SCM = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
PARAMETERS = "hudson.model.ParametersDefinitionProperty"
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
PLUGIN_VERSIONS = {
    "workflow-job": "1520.v56d65e3b_4566",
    "workflow-cps": "4106.v7a_8a_8176d450",
    "cloudbees-folder": "6.1012.v79a_86a_1ea_c1f",
    "git": "5.7.0",
    "workflow-multibranch": "806.vb_b_688f609ee9",
    "branch-api": "2.1217.v43d8b_b_d8b_2c7",
    "gitlab-branch-source": "718.v40b_a_1b_d0b_e3e",
    "scm-api": "704.v3ce5c542825a_",
}
DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>\n"
UNSAFE_CHARS = set("?*/\\%!@#$^&|<>[]:;")
ROOT_TAGS = {"flow-definition": WORKFLOW_JOB, FOLDER: FOLDER, MULTIBRANCH: MULTIBRANCH}
# Branch sources a Multibranch project may hold, the plugin each needs and its required fields
# (the SCMSource constructors' arguments); traits the emulator knows, with their strategy ids.
SOURCES = {
    "jenkins.plugins.git.GitSCMSource": ("git", ("remote",)),
    "io.jenkins.plugins.gitlabbranchsource.GitLabSCMSource": (
        "gitlab-branch-source", ("serverName", "projectOwner", "projectPath")),
}
TRAITS = {
    "jenkins.plugins.git.traits.BranchDiscoveryTrait": ("git", None),
    "jenkins.plugins.git.traits.TagDiscoveryTrait": ("git", None),
    "io.jenkins.plugins.gitlabbranchsource.BranchDiscoveryTrait": ("gitlab-branch-source", (1, 2, 3)),
    "io.jenkins.plugins.gitlabbranchsource.OriginMergeRequestDiscoveryTrait": ("gitlab-branch-source", (1, 2, 3)),
    "io.jenkins.plugins.gitlabbranchsource.TagDiscoveryTrait": ("gitlab-branch-source", None),
    "jenkins.scm.impl.trait.RegexSCMHeadFilterTrait": ("scm-api", None),
    "jenkins.scm.impl.trait.WildcardSCMHeadFilterTrait": ("scm-api", None),
}
ORPHANED = "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy"
PERIODIC = "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
FACTORY = "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"


class ConfigError(Exception):
    """config.xml Jenkins cannot load: malformed, unknown root or definition (answered 500)."""


def name_error(name: str) -> str | None:
    """The `Failure` message Jenkins' checkGoodName gives for `name`, or None when it is good."""
    if not name.strip():
        return "No name is specified"
    if name in (".", ".."):
        return f"‘{name}’ is not an allowed name"
    for char in name:
        if char in UNSAFE_CHARS or ord(char) < 32 or ord(char) == 127:
            return f"‘{char}’ is an unsafe character"
    if name.endswith("."):
        return "A name cannot end with ‘.’"
    return None


def _plugin(name: str) -> str:
    return f"{name}@{PLUGIN_VERSIONS[name]}"


def _ensure(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = parent.find(tag)
    if child is None:
        child = ET.SubElement(parent, tag)
        child.text = text
    return child


def _normalise_definition(root: ET.Element) -> None:
    definition = root.find("definition")
    if definition is None:
        return  # Jenkins accepts a Pipeline job without a definition; it just cannot run
    cls = definition.get("class")
    if cls == CPS:
        if definition.find("script") is None:
            raise ConfigError("CpsFlowDefinition needs a <script>")
        _ensure(definition, "sandbox", "false")
        definition.set("plugin", _plugin("workflow-cps"))
    elif cls == CPS_SCM:
        scm = definition.find("scm")
        if scm is None or definition.find("scriptPath") is None:
            raise ConfigError("CpsScmFlowDefinition needs <scm> and <scriptPath>")
        if scm.get("class") == "hudson.plugins.git.GitSCM":
            scm.set("plugin", _plugin("git"))
        _ensure(definition, "lightweight", "false")
        definition.set("plugin", _plugin("workflow-cps"))
    else:
        raise ConfigError(f"Unknown flow definition class {cls!r}")


def _owner(parent: ET.Element) -> None:
    owner = _ensure(parent, "owner")
    owner.attrib.update({"class": MULTIBRANCH, "reference": "../.."})


def _normalise_multibranch(root: ET.Element, plugins: set[str] | None) -> None:
    """A WorkflowMultiBranchProject as Jenkins loads and saves it: one or more branch sources
    (`sources/data/jenkins.branch.BranchSource/source`), a factory (the Jenkinsfile's path), an
    orphaned-item strategy, scan triggers; XStream fills what was left out and names plugins.
    A source or trait whose plugin is not installed cannot be loaded (XStream's
    CannotResolveClassException, answered 500)."""
    def need(plugin: str, what: str) -> None:
        if plugins is not None and plugin not in plugins:
            raise ConfigError(f"com.thoughtworks.xstream.mapper.CannotResolveClassException: {what}")

    need("workflow-multibranch", MULTIBRANCH)
    root.set("plugin", _plugin("workflow-multibranch"))
    for tag in ("actions", "properties"):
        _ensure(root, tag)
    views = _ensure(root, "folderViews")
    views.attrib.update({"class": "jenkins.branch.MultiBranchProjectViewHolder", "plugin": _plugin("branch-api")})
    _owner(views)
    _ensure(root, "healthMetrics")
    icon = _ensure(root, "icon")
    icon.attrib.update({"class": "jenkins.branch.MetadataActionFolderIcon", "plugin": _plugin("branch-api")})
    _owner(icon)
    strategy = root.find("orphanedItemStrategy")
    if strategy is None:
        strategy = ET.SubElement(root, "orphanedItemStrategy", {"class": ORPHANED})
    if strategy.get("class") != ORPHANED:
        raise ConfigError(f"Unknown orphaned item strategy {strategy.get('class')!r}")
    strategy.set("plugin", _plugin("cloudbees-folder"))
    for tag, default in (("pruneDeadBranches", "true"), ("daysToKeep", "-1"), ("numToKeep", "-1"),
                         ("abortBuilds", "false")):
        value = _ensure(strategy, tag, default)
        if tag in ("daysToKeep", "numToKeep") and not (value.text or "").lstrip("-").isdigit():
            raise ConfigError(f"For input string: \"{value.text}\" ({tag})")
    triggers = _ensure(root, "triggers")
    for trigger in triggers:
        if trigger.tag != PERIODIC:
            raise ConfigError(f"{trigger.tag} is not applicable to a multibranch project")
        trigger.set("plugin", _plugin("cloudbees-folder"))
        if not (trigger.findtext("interval") or "").isdigit() or not trigger.findtext("spec"):
            raise ConfigError("PeriodicFolderTrigger needs <spec> and a numeric <interval>")
    _ensure(root, "disabled", "false")
    sources = root.find("sources")
    if sources is None:
        sources = ET.SubElement(root, "sources")
    sources.attrib.update({"class": "jenkins.branch.MultiBranchProject$BranchSourceList",
                           "plugin": _plugin("branch-api")})
    data = _ensure(sources, "data")
    _owner(sources)
    for branch_source in data:
        _normalise_source(branch_source, need)
    factory = root.find("factory")
    if factory is None:
        factory = ET.SubElement(root, "factory", {"class": FACTORY})
    if factory.get("class") != FACTORY:
        raise ConfigError(f"Unknown branch project factory {factory.get('class')!r}")
    _owner(factory)
    _ensure(factory, "scriptPath", "Jenkinsfile")


def _normalise_source(branch_source: ET.Element, need: Any) -> None:
    if branch_source.tag != "jenkins.branch.BranchSource":
        raise ConfigError(f"Unknown element <{branch_source.tag}> in sources")
    source = branch_source.find("source")
    cls = source.get("class", "") if source is not None else ""
    if source is None or cls not in SOURCES:
        raise ConfigError(f"com.thoughtworks.xstream.mapper.CannotResolveClassException: {cls or 'source'}")
    plugin, required = SOURCES[cls]
    need(plugin, cls)
    source.set("plugin", _plugin(plugin))
    for field_name in required:
        if not (source.findtext(field_name) or "").strip():
            raise ConfigError(f"{cls} needs <{field_name}>")
    _ensure(source, "id", "")
    for trait in _ensure(source, "traits"):
        known = TRAITS.get(trait.tag)
        # A GitLab source takes git's traits too (it is a git source); git's takes no GitLab trait.
        if known is None or (known[0] == "gitlab-branch-source" and plugin != known[0]):
            raise ConfigError(f"com.thoughtworks.xstream.mapper.CannotResolveClassException: {trait.tag}")
        need(known[0], trait.tag)
        if known[1] is not None and (trait.findtext("strategyId") or "").strip() not in {str(i) for i in known[1]}:
            raise ConfigError(f"{trait.tag}: strategyId must be one of {known[1]}")
    strategy = _ensure(branch_source, "strategy")
    strategy.set("class", strategy.get("class") or "jenkins.branch.DefaultBranchPropertyStrategy")
    _ensure(strategy, "properties").set("class", "empty-list")


def parse_config(xml: bytes, plugins: set[str] | None = None) -> ET.Element:
    """Parse and normalise a posted config.xml; raise ConfigError for what Jenkins rejects.
    `plugins`: the active plugins, when the item's classes must be loadable (a posted config)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ConfigError(f"Unable to read config.xml: {exc}") from exc
    if root.tag not in ROOT_TAGS:
        raise ConfigError(f"Unknown item type <{root.tag}>")
    if root.tag == MULTIBRANCH:
        _normalise_multibranch(root, plugins)
    elif root.tag == "flow-definition":
        root.set("plugin", _plugin("workflow-job"))
        _normalise_definition(root)
        for tag, default in (("keepDependencies", "false"), ("properties", None),
                             ("triggers", None), ("disabled", "false")):
            _ensure(root, tag, default)
    else:
        root.set("plugin", _plugin("cloudbees-folder"))
        for tag in ("properties", "folderViews", "healthMetrics"):
            _ensure(root, tag)
        icon = _ensure(root, "icon")
        icon.set("class", "com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon")
    return root


def serialise(root: ET.Element) -> bytes:
    # XStream writes `<a/>`; ElementTree writes `<a />`. `>` is escaped in text and
    # attributes, so " />" occurs only as an empty-element end.
    text = ET.tostring(root, encoding="unicode").replace(" />", "/>")
    return (DECLARATION + text).encode("utf-8")


def folder_config() -> ET.Element:
    return parse_config(f"<{FOLDER}/>".encode())


def pipeline_config(script: str | None = None, *, scm_url: str | None = None,
                    branch: str = "*/main", script_path: str = "Jenkinsfile",
                    description: str = "") -> ET.Element:
    """A Pipeline job config, inline (`script`) or from Git (`scm_url`); for seeding."""
    root = ET.Element("flow-definition")
    ET.SubElement(root, "description").text = description
    if scm_url is None:
        definition = ET.SubElement(root, "definition", {"class": CPS})
        ET.SubElement(definition, "script").text = script or "pipeline { agent any; stages { } }"
        ET.SubElement(definition, "sandbox").text = "true"
    else:
        definition = ET.SubElement(root, "definition", {"class": CPS_SCM})
        scm = ET.SubElement(definition, "scm", {"class": "hudson.plugins.git.GitSCM"})
        ET.SubElement(scm, "configVersion").text = "2"
        remote = ET.SubElement(ET.SubElement(scm, "userRemoteConfigs"),
                               "hudson.plugins.git.UserRemoteConfig")
        ET.SubElement(remote, "url").text = scm_url
        spec = ET.SubElement(ET.SubElement(scm, "branches"), "hudson.plugins.git.BranchSpec")
        ET.SubElement(spec, "name").text = branch
        ET.SubElement(definition, "scriptPath").text = script_path
        ET.SubElement(definition, "lightweight").text = "true"
    return parse_config(ET.tostring(root))


@dataclass
class Build:
    number: int
    result: str | None = "SUCCESS"
    building: bool = False
    timestamp: int = field(default_factory=lambda: int(time.time() * 1000))
    duration: int = 0
    queue_id: int = 0
    artifacts: dict[str, bytes] = field(default_factory=dict)  # relativePath -> archived bytes


@dataclass
class Item:
    """A folder or a Pipeline job; the Jenkins root is a nameless folder."""

    name: str
    config: ET.Element
    parent: "Item | None" = None
    children: dict[str, "Item"] = field(default_factory=dict)  # keyed by lower-case name
    builds: list[Build] = field(default_factory=list)  # oldest first
    next_build_number: int = 1

    @property
    def is_folder(self) -> bool:
        return self.config.tag == FOLDER

    @property
    def is_group(self) -> bool:
        """Holds items: a folder, or a Multibranch project (its branch jobs)."""
        return self.config.tag in (FOLDER, MULTIBRANCH)

    @property
    def cls(self) -> str:
        return ROOT_TAGS[self.config.tag]

    @property
    def full_name(self) -> str:
        parts: list[str] = []
        item: Item | None = self
        while item is not None and item.parent is not None:
            parts.append(item.name)
            item = item.parent
        return "/".join(reversed(parts))

    @property
    def url_path(self) -> str:
        """Relative URL: `job/a/job/b/`, empty for the root."""
        return "".join(f"job/{part}/" for part in self.full_name.split("/") if part)

    @property
    def disabled(self) -> bool:
        return self.config.findtext("disabled") == "true"

    @property
    def parameterized(self) -> bool:
        properties = self.config.find("properties")
        return properties is not None and properties.find(PARAMETERS) is not None

    def child(self, name: str) -> "Item | None":
        return self.children.get(name.lower())

    def add(self, item: "Item") -> "Item":
        item.parent = self
        self.children[item.name.lower()] = item
        return item

    def sorted_children(self) -> list["Item"]:
        return [self.children[key] for key in sorted(self.children)]

    def color(self) -> str:
        if self.disabled:
            return "disabled"
        finished = [b for b in self.builds if not b.building]
        base = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow",
                "ABORTED": "aborted"}.get(finished[-1].result or "", "notbuilt") \
            if finished else "notbuilt"
        return base + "_anime" if any(b.building for b in self.builds) else base

    def build(self, number: int) -> Build | None:
        return next((b for b in self.builds if b.number == number), None)


@dataclass
class QueueItem:
    id: int
    job: Item
    params: dict[str, str]
    since: int = field(default_factory=lambda: int(time.time() * 1000))
    build: Build | None = None
    cancelled: bool = False

