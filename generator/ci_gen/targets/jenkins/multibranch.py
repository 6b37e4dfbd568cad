"""config.xml of a Multibranch Pipeline project (`WorkflowMultiBranchProject`), and the fields of
it that ci-gen sets, read back from any serialisation for the marker's digest.

One branch source per project: GitLab (`GitLabSCMSource`, gitlab-branch-source plugin: branches,
merge requests, tags) or plain git (`GitSCMSource`: branches, tags). Jenkins scans the source and
makes one Pipeline job per branch or merge request inside the project; ci-gen owns the project,
Jenkins owns those branch jobs (the orphaned-item strategy says when a gone branch's job goes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ...errors import UserError

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
GITLAB_SOURCE = "io.jenkins.plugins.gitlabbranchsource.GitLabSCMSource"
GIT_SOURCE = "jenkins.plugins.git.GitSCMSource"
_GITLAB_TRAIT = "io.jenkins.plugins.gitlabbranchsource."
_GIT_TRAIT = "jenkins.plugins.git.traits."
_PERIODIC = "com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
_ORPHANED = "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy"
_FACTORY = "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"
SOURCE_ID = "ci-gen"  # stable: Jenkins keys the branch jobs' history by source id

# gitlab-branch-source's strategy ids (BranchDiscoveryTrait, OriginMergeRequestDiscoveryTrait)
BRANCH_STRATEGY = {"except-merge-requests": 1, "only-merge-requests": 2, "all": 3}
MR_STRATEGY = {"merged": 1, "head": 2, "both": 3}
# PeriodicFolderTrigger's choices, in milliseconds; the cron spec it derives from each interval.
_MINUTE, _HOUR, _DAY = 60_000, 3_600_000, 86_400_000
SCAN_INTERVALS = {"1m": _MINUTE, "2m": 2 * _MINUTE, "3m": 3 * _MINUTE, "5m": 5 * _MINUTE,
                  "10m": 10 * _MINUTE, "15m": 15 * _MINUTE, "20m": 20 * _MINUTE, "25m": 25 * _MINUTE,
                  "30m": 30 * _MINUTE, "1h": _HOUR, "2h": 2 * _HOUR, "4h": 4 * _HOUR, "8h": 8 * _HOUR,
                  "12h": 12 * _HOUR, "1d": _DAY, "2d": 2 * _DAY, "7d": 7 * _DAY, "14d": 14 * _DAY,
                  "28d": 28 * _DAY}
PLUGINS = {"gitlab": "gitlab-branch-source", "git": "git"}


@dataclass(frozen=True)
class Multibranch:
    """Everything that decides a Multibranch Pipeline project's config.xml."""

    source: str  # "gitlab" | "git"
    location: str  # gitlab: the project path ("group/sub/app"); git: the clone URL
    credentials_id: str = ""
    server: str = "default"  # gitlab: the server's name in Jenkins' GitLab configuration
    branches: str = "all"
    merge_requests: str = "none"
    tags: bool = False
    days_to_keep: int = -1  # -1: no limit (Jenkins' own "not set")
    num_to_keep: int = -1
    scan: str = "1d"  # a SCAN_INTERVALS key, or "none"
    script_path: str = "Jenkinsfile"


def resolve(settings: object, gitlab_path: str | None, repo_url: str | None, credentials_id: str,
            script_path: str) -> Multibranch:
    """The project's branch source from the manifest's `jenkins.multibranch`: its defaults follow
    the source, and what a plain git source cannot do is refused rather than dropped."""
    source = getattr(settings, "source", None) or ("gitlab" if gitlab_path else "git")
    branches = getattr(settings, "branches", None)
    merge_requests = getattr(settings, "merge_requests", None)
    if source == "gitlab":
        if not gitlab_path:
            raise UserError("jenkins.multibranch.source gitlab needs a GitLab project (a fleet `gitlab:` "
                            "entry or the manifest's gitlab.project)")
        location = gitlab_path
        branches, merge_requests = branches or "except-merge-requests", merge_requests or "merged"
    else:
        if not repo_url:
            raise UserError("jenkins.multibranch.source git needs a repository URL (no git remote); "
                            "set repo_url in the fleet file")
        if branches not in (None, "all") or merge_requests not in (None, "none"):
            raise UserError("a plain git branch source discovers all branches and no merge requests: "
                            "use source gitlab for jenkins.multibranch.branches or merge_requests")
        location, branches, merge_requests = repo_url, "all", "none"
    days, count = getattr(settings, "days_to_keep", None), getattr(settings, "num_to_keep", None)
    return Multibranch(source, location, credentials_id, getattr(settings, "server", "default"), branches,
                       merge_requests, bool(getattr(settings, "tags", False)),
                       -1 if days is None else days, -1 if count is None else count,
                       getattr(settings, "scan", "1d"), script_path)


def scan_spec(interval: str) -> str:
    """The cron spec PeriodicFolderTrigger derives from an interval (it checks twice as often)."""
    millis = SCAN_INTERVALS[interval]
    for limit, spec in ((5 * _MINUTE, "* * * * *"), (30 * _MINUTE, "H/5 * * * *"), (_HOUR, "H/15 * * * *"),
                        (8 * _HOUR, "H/30 * * * *"), (_DAY, "H H/4 * * *"), (2 * _DAY, "H H/12 * * *")):
        if millis <= limit:
            return spec
    return "H H * * *"


def multibranch_body(mb: Multibranch, description: str) -> str:
    owner = f'<owner class="{MULTIBRANCH_CLASS}" reference="../.."/>'
    triggers = "  <triggers/>\n" if mb.scan == "none" else (
        f"  <triggers>\n    <{_PERIODIC}>\n      <spec>{scan_spec(mb.scan)}</spec>\n"
        f"      <interval>{SCAN_INTERVALS[mb.scan]}</interval>\n    </{_PERIODIC}>\n  </triggers>\n")
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        f"<{MULTIBRANCH_CLASS}>\n"
        f"  <description>{escape(description)}</description>\n"
        "  <properties/>\n"
        f'  <orphanedItemStrategy class="{_ORPHANED}">\n'
        "    <pruneDeadBranches>true</pruneDeadBranches>\n"
        f"    <daysToKeep>{mb.days_to_keep}</daysToKeep>\n"
        f"    <numToKeep>{mb.num_to_keep}</numToKeep>\n"
        "    <abortBuilds>false</abortBuilds>\n"
        "  </orphanedItemStrategy>\n"
        f"{triggers}"
        "  <disabled>false</disabled>\n"
        '  <sources class="jenkins.branch.MultiBranchProject$BranchSourceList">\n'
        "    <data>\n      <jenkins.branch.BranchSource>\n"
        f"{_source(mb)}"
        '        <strategy class="jenkins.branch.DefaultBranchPropertyStrategy">\n'
        '          <properties class="empty-list"/>\n        </strategy>\n'
        "      </jenkins.branch.BranchSource>\n    </data>\n"
        f"    {owner}\n  </sources>\n"
        f'  <factory class="{_FACTORY}">\n    {owner}\n'
        f"    <scriptPath>{escape(mb.script_path)}</scriptPath>\n  </factory>\n"
        f"</{MULTIBRANCH_CLASS}>\n"
    )


def _source(mb: Multibranch) -> str:
    pad = "          "
    creds = f"{pad}<credentialsId>{escape(mb.credentials_id)}</credentialsId>\n" if mb.credentials_id else ""
    if mb.source == "gitlab":
        owner = mb.location.rpartition("/")[0]
        traits = [_trait(_GITLAB_TRAIT + "BranchDiscoveryTrait", BRANCH_STRATEGY[mb.branches])]
        if mb.merge_requests != "none":
            traits.append(_trait(_GITLAB_TRAIT + "OriginMergeRequestDiscoveryTrait", MR_STRATEGY[mb.merge_requests]))
        if mb.tags:
            traits.append(_trait(_GITLAB_TRAIT + "TagDiscoveryTrait"))
        fields = (f"{pad}<serverName>{escape(mb.server)}</serverName>\n"
                  f"{pad}<projectOwner>{escape(owner)}</projectOwner>\n"
                  f"{pad}<projectPath>{escape(mb.location)}</projectPath>\n")
        cls = GITLAB_SOURCE
    else:
        traits = [_trait(_GIT_TRAIT + "BranchDiscoveryTrait")]
        if mb.tags:
            traits.append(_trait(_GIT_TRAIT + "TagDiscoveryTrait"))
        fields, cls = f"{pad}<remote>{escape(mb.location)}</remote>\n", GIT_SOURCE
    return (f'        <source class="{cls}">\n{pad}<id>{SOURCE_ID}</id>\n{fields}{creds}'
            f"{pad}<traits>\n{''.join(traits)}{pad}</traits>\n        </source>\n")


def _trait(tag: str, strategy: int | None = None) -> str:
    pad = "            "
    if strategy is None:
        return f"{pad}<{tag}/>\n"
    return f"{pad}<{tag}>\n{pad}  <strategyId>{strategy}</strategyId>\n{pad}</{tag}>\n"


def semantic_multibranch(root: ET.Element) -> dict[str, object]:
    """The fields of a Multibranch project that ci-gen sets, plus those a person would change in
    the UI to make it build something else (another source, branch properties, more triggers).
    Folder properties are left out, as a Pipeline job's are: plugins add their own on save."""
    def text(element: ET.Element | None, path: str) -> str:
        return "" if element is None else (element.findtext(path) or "").strip()

    sources = []
    for branch_source in root.iterfind("sources/data/*"):
        source = branch_source.find("source")
        sources.append({
            "class": source.get("class", "") if source is not None else "",
            "fields": {name: text(source, name) for name in
                       ("id", "remote", "serverName", "projectOwner", "projectPath", "credentialsId")},
            "traits": [(t.tag, text(t, "strategyId")) for t in (source.iterfind("traits/*") if source is not None else [])],
            "strategy": [(s.get("class", ""), [p.tag for p in s.iter() if p is not s])
                         for s in branch_source.iterfind("strategy")],
        })
    orphaned = root.find("orphanedItemStrategy")
    factory = root.find("factory")
    return {
        "root": root.tag,
        "description": text(root, "description"),
        "sources": sources,
        "orphaned": [orphaned.get("class", "") if orphaned is not None else ""] +
                    [text(orphaned, f) for f in ("pruneDeadBranches", "daysToKeep", "numToKeep", "abortBuilds")],
        "triggers": [(t.tag, text(t, "spec"), text(t, "interval")) for t in root.iterfind("triggers/*")],
        "factory": [factory.get("class", "") if factory is not None else "", text(factory, "scriptPath")],
        "disabled": text(root, "disabled") or "false",
    }
