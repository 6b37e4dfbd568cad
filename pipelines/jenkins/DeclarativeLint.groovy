// Parses Jenkinsfiles with Groovy's own parser and checks the declarative skeleton:
// pipeline { agent, stages { stage(...) { steps | parallel | stages } } }, and that triggers { }
// names each kind of trigger once (Jenkins rejects a second cron(): "Duplicate trigger name"),
// that a stage's input { } uses only the input directive's parameters with a literal message and a
// submitter that is a comma-separated list of user ids or group names, that timeout() units are
// TimeUnit names, and that under `agent none` every stage that runs steps names its own agent.
// Usage: groovy DeclarativeLint.groovy FILE...   Prints "FILE:LINE:COL: message" per problem.
import org.codehaus.groovy.ast.expr.*
import org.codehaus.groovy.ast.stmt.*
import org.codehaus.groovy.control.*

PIPELINE_SECTIONS = ['agent', 'environment', 'options', 'parameters', 'post', 'stages', 'tools', 'triggers', 'libraries']
STAGE_DIRECTIVES = ['agent', 'environment', 'input', 'when', 'options', 'post', 'tools', 'failFast']
STAGE_BODIES = ['steps', 'parallel', 'stages', 'matrix']
INPUT_PARAMETERS = ['message', 'id', 'ok', 'submitter', 'submitterParameter', 'parameters']
// What the input step's submitter splits on commas into: a user id or a group/authority name.
SUBMITTER_ENTRY = ~/^[A-Za-z0-9_][A-Za-z0-9_.@+\/ -]*$/
TIME_UNITS = ['NANOSECONDS', 'MICROSECONDS', 'MILLISECONDS', 'SECONDS', 'MINUTES', 'HOURS', 'DAYS']

def at(String file, node) { "${file}:${node.lineNumber}:${node.columnNumber}" }

def onlyArgument(MethodCallExpression call) {
    def args = call.arguments instanceof ArgumentListExpression ? call.arguments.expressions : []
    args.size() == 1 ? args[0] : null
}

def checkInput(String file, MethodCallExpression input, List problems) {
    def body = closureOf(input)
    if (body == null) { problems << "${at(file, input)}: 'input' needs a block"; return }
    def seen = [] as Set
    calls(body.code).each { p ->
        def n = name(p)
        if (!(n in INPUT_PARAMETERS)) { problems << "${at(file, p)}: '${n ?: p.class.simpleName}' is not an input parameter (${INPUT_PARAMETERS.join(', ')})"; return }
        seen << n
        def value = onlyArgument(p)
        if (n in ['message', 'id', 'ok', 'submitter', 'submitterParameter'] && !(value instanceof ConstantExpression && value.value instanceof String)) {
            problems << "${at(file, p)}: input ${n} must be a string literal"
            return
        }
        if (n == 'submitter') {
            def entries = value.value.split(',', -1).collect { it.trim() }
            def bad = entries.findAll { !(it ==~ SUBMITTER_ENTRY) }
            if (bad) problems << "${at(file, p)}: input submitter '${value.value}' is not a comma-separated list of user ids or group names (bad entry: '${bad[0]}')"
        }
    }
    if (!('message' in seen)) problems << "${at(file, input)}: input needs a message"
}

def checkOptions(String file, MethodCallExpression options, List problems) {
    def body = closureOf(options)
    if (body == null) return
    calls(body.code).findAll { name(it) == 'timeout' }.each { t ->
        def args = t.arguments instanceof TupleExpression ? t.arguments.expressions : []
        def named = args.findAll { it instanceof MapExpression }.collectMany { it.mapEntryExpressions }
        def unit = named.find { it.keyExpression.text == 'unit' }?.valueExpression
        def time = named.find { it.keyExpression.text == 'time' }?.valueExpression
        if (!(time instanceof ConstantExpression && time.value instanceof Integer && time.value > 0)) problems << "${at(file, t)}: timeout needs time: a positive whole number"
        if (unit != null && !(unit instanceof ConstantExpression && unit.value in TIME_UNITS)) problems << "${at(file, t)}: timeout unit must be one of ${TIME_UNITS.join(', ')}"
    }
}

// Jenkins refuses any other name in post { } ("Invalid condition ...") and a step there with
// parameters its plugin does not have; these are the report steps we write.
POST_CONDITIONS = ['always', 'changed', 'fixed', 'regression', 'aborted', 'success', 'unsuccessful', 'unstable', 'failure', 'notBuilt', 'cleanup']
STEP_PARAMETERS = [
    junit: ['testResults', 'allowEmptyResults', 'keepLongStdio', 'keepProperties', 'skipPublishingChecks', 'skipMarkingBuildUnstable', 'healthScaleFactor', 'checksName'],
    archiveArtifacts: ['artifacts', 'allowEmptyArchive', 'excludes', 'fingerprint', 'onlyIfSuccessful', 'caseSensitive', 'defaultExcludes', 'followSymlinks'],
    recordIssues: ['tool', 'tools', 'enabledForFailure', 'aggregatingResults', 'id', 'name', 'qualityGates', 'skipBlames', 'sourceCodeEncoding', 'ignoreQualityGate', 'failOnError', 'skipPublishingChecks'],
]

def calls(Statement block) {
    def found = []
    def statements = block instanceof BlockStatement ? block.statements : [block]
    statements.each { s ->
        if (s instanceof ExpressionStatement && s.expression instanceof MethodCallExpression) {
            found << s.expression
        } else {
            found << s
        }
    }
    found
}

def closureOf(MethodCallExpression call) {
    def args = call.arguments instanceof ArgumentListExpression ? call.arguments.expressions : []
    args && args[-1] instanceof ClosureExpression ? args[-1] : null
}

def name(node) { node instanceof MethodCallExpression ? node.methodAsString : null }

def checkStages(String file, MethodCallExpression owner, List problems, boolean agentNone = false) {
    def body = closureOf(owner)
    if (body == null) { problems << "${file}:${owner.lineNumber}:${owner.columnNumber}: '${name(owner)}' needs a block"; return }
    def stages = calls(body.code)
    if (!stages) problems << "${file}:${owner.lineNumber}:${owner.columnNumber}: '${name(owner)}' has no stage"
    stages.each { s ->
        if (name(s) != 'stage') {
            problems << "${file}:${s.lineNumber}:${s.columnNumber}: only stage(...) may appear in '${name(owner)}', found '${name(s) ?: s.class.simpleName}'"
        } else {
            checkStage(file, s, problems, agentNone)
        }
    }
}

def checkStage(String file, MethodCallExpression stage, List problems, boolean agentNone) {
    def body = closureOf(stage)
    def where = "${file}:${stage.lineNumber}:${stage.columnNumber}"
    if (body == null) { problems << "${where}: stage needs a name and a block"; return }
    def parts = calls(body.code)
    def bodies = parts.findAll { name(it) in STAGE_BODIES }
    if (bodies.size() != 1) problems << "${where}: a stage needs exactly one of steps, parallel, stages or matrix"
    parts.each { p ->
        def n = name(p)
        if (!(n in STAGE_BODIES) && !(n in STAGE_DIRECTIVES)) problems << "${file}:${p.lineNumber}:${p.columnNumber}: '${n ?: p.class.simpleName}' is not a stage directive"
        if (n == 'parallel' || n == 'stages') checkStages(file, p, problems, agentNone && !parts.any { name(it) == 'agent' })
        if (n == 'input') checkInput(file, p, problems)
        if (n == 'options') checkOptions(file, p, problems)
        if (n == 'steps' && agentNone && !parts.any { name(it) == 'agent' }) {
            problems << "${file}:${stage.lineNumber}:${stage.columnNumber}: stage runs steps under 'agent none' without an agent of its own"
        }
        if (n == 'post') checkPost(file, p, problems)
        if (n == 'steps' && !(closureOf(p)?.code instanceof BlockStatement && closureOf(p).code.statements)) {
            problems << "${file}:${p.lineNumber}:${p.columnNumber}: steps is empty"
        }
    }
}

def checkPost(String file, MethodCallExpression owner, List problems) {
    def body = closureOf(owner)
    if (body == null) { problems << "${file}:${owner.lineNumber}:${owner.columnNumber}: 'post' needs a block"; return }
    calls(body.code).each { c ->
        def n = name(c)
        if (!(n in POST_CONDITIONS)) {
            problems << "${file}:${c.lineNumber}:${c.columnNumber}: Invalid condition \"${n ?: c.class.simpleName}\" - valid conditions are ${POST_CONDITIONS}"
        } else {
            checkStepParameters(file, closureOf(c)?.code, problems)
        }
    }
}

// Named arguments of the report steps, anywhere below a post condition (script { try { } } too).
def checkStepParameters(String file, Statement block, List problems) {
    if (block == null) return
    block.visit(new org.codehaus.groovy.ast.CodeVisitorSupport() {
        void visitMethodCallExpression(MethodCallExpression call) {
            def known = STEP_PARAMETERS[call.methodAsString]
            def args = call.arguments instanceof TupleExpression ? call.arguments.expressions : []
            if (known != null) {
                args.findAll { it instanceof MapExpression }*.mapEntryExpressions.flatten().each { e ->
                    def key = e.keyExpression.text
                    if (!(key in known)) problems << "${file}:${e.keyExpression.lineNumber}:${e.keyExpression.columnNumber}: Invalid parameter \"${key}\" of ${call.methodAsString}"
                }
            }
            super.visitMethodCallExpression(call)
        }
    })
}

def checkTriggers(String file, MethodCallExpression owner, List problems) {
    def body = closureOf(owner)
    if (body == null) { problems << "${file}:${owner.lineNumber}:${owner.columnNumber}: 'triggers' needs a block"; return }
    def seen = [] as Set
    calls(body.code).each { t ->
        def n = name(t)
        if (n != null && !seen.add(n)) problems << "${file}:${t.lineNumber}:${t.columnNumber}: Duplicate trigger name: \"${n}\" (put every schedule on its own line of one ${n}(...))"
    }
}

def lint(String file) {
    def problems = []
    def unit = new CompilationUnit()
    unit.addSource(file, new File(file).getText('UTF-8'))
    try {
        unit.compile(Phases.CONVERSION)
    } catch (MultipleCompilationErrorsException e) {
        def error = e.errorCollector.errors ? e.errorCollector.errors[0] : null
        def cause = error instanceof org.codehaus.groovy.control.messages.SyntaxErrorMessage ? error.cause : null
        if (cause != null) return ["${file}:${cause.line}:${cause.startColumn}: Groovy syntax error: ${cause.originalMessage}"]
        return ["${file}:1:1: Groovy syntax error: ${e.message.readLines().findAll { it.trim() && !it.startsWith('startup failed') }.take(1).join('')}"]
    } catch (CompilationFailedException e) {
        return ["${file}:1:1: Groovy syntax error: ${e.message.readLines().findAll { it.trim() && !it.startsWith('startup failed') }.take(1).join('')}"]
    }
    def top = calls(unit.AST.modules[0].statementBlock).findAll { name(it) == 'pipeline' }
    if (top.size() != 1) return ["${file}:1:1: expected exactly one pipeline { } block"]
    def pipeline = top[0]
    def body = closureOf(pipeline)
    if (body == null) return ["${file}:${pipeline.lineNumber}:${pipeline.columnNumber}: pipeline needs a block"]
    def sections = calls(body.code)
    ['agent', 'stages'].each { required ->
        if (!sections.any { name(it) == required }) problems << "${file}:${pipeline.lineNumber}:${pipeline.columnNumber}: pipeline has no '${required}' section"
    }
    sections.each { s ->
        def n = name(s)
        if (!(n in PIPELINE_SECTIONS)) problems << "${file}:${s.lineNumber}:${s.columnNumber}: '${n ?: s.class.simpleName}' is not a pipeline section"
        if (n == 'stages') checkStages(file, s, problems, sections.any { name(it) == 'agent' && onlyArgument(it) instanceof VariableExpression && onlyArgument(it).name == 'none' })
        if (n == 'options') checkOptions(file, s, problems)
        if (n == 'triggers') checkTriggers(file, s, problems)
        if (n == 'post') checkPost(file, s, problems)
    }
    problems
}

def failed = false
args.each { file ->
    def problems = lint(file)
    if (problems) { failed = true; problems.each { println it } } else { println "ok ${file}" }
}
System.exit(failed ? 1 : 0)
