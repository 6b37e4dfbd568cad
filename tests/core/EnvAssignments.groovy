// Reads Jenkinsfiles with Groovy's own parser (as far as Phases.CONVERSION, like
// pipelines/jenkins/DeclarativeLint.groovy) and writes, as JSON, what the pipeline will really
// hold: every `KEY = ...` inside `environment { }` with its constant value and the stage it is in,
// and every `credentialsId:` bound. Usage: groovy EnvAssignments.groovy OUT.json FILE...
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.expr.*
import org.codehaus.groovy.ast.stmt.*
import org.codehaus.groovy.control.*

def statementsOf(Statement block) {
    block instanceof BlockStatement ? block.statements : [block]
}

def argumentsOf(MethodCallExpression call) {
    call.arguments instanceof TupleExpression ? call.arguments.expressions : [call.arguments]
}

def closureOf(MethodCallExpression call) {
    def args = argumentsOf(call)
    args && args[-1] instanceof ClosureExpression ? args[-1] : null
}

// One assignment of an environment block: [key, value, kind], kind 'constant' or 'credentials'.
def assignment(Expression e) {
    if (!(e instanceof BinaryExpression) || e.operation.text != '=' || !(e.leftExpression instanceof VariableExpression)) {
        return [null, e.text, 'not-an-assignment']
    }
    def key = e.leftExpression.name
    def right = e.rightExpression
    if (right instanceof ConstantExpression && right.value instanceof String) return [key, right.value, 'constant']
    if (right instanceof MethodCallExpression && right.methodAsString == 'credentials') {
        def arg = argumentsOf(right)[0]
        return [key, arg instanceof ConstantExpression ? arg.value : arg.text, 'credentials']
    }
    [key, right.text, 'expression']
}

def credentialIds(Expression e, List found) {
    if (e instanceof MapExpression) {
        e.mapEntryExpressions.each { entry ->
            if (entry.keyExpression.text == 'credentialsId') {
                found << (entry.valueExpression instanceof ConstantExpression ? entry.valueExpression.value : entry.valueExpression.text)
            }
        }
    } else if (e instanceof MethodCallExpression) {
        argumentsOf(e).each { credentialIds(it, found) }
    } else if (e instanceof ListExpression || e instanceof TupleExpression) {
        e.expressions.each { credentialIds(it, found) }
    }
}

def visit(Statement block, String stage, Map result) {
    statementsOf(block).each { s ->
        if (!(s instanceof ExpressionStatement) || !(s.expression instanceof MethodCallExpression)) return
        MethodCallExpression call = s.expression
        def name = call.methodAsString
        def body = closureOf(call)
        if (name == 'environment' && body != null) {
            result.environment << [stage: stage, vars: statementsOf(body.code).collect { assignment(it.expression) }]
            return
        }
        if (name == 'withCredentials') argumentsOf(call).each { credentialIds(it, result.credentials) }
        if (body == null) return
        def first = argumentsOf(call)[0]
        def inner = name == 'stage' && first instanceof ConstantExpression ? first.value : stage
        visit(body.code, inner, result)
    }
}

def results = [:]
args.drop(1).each { file ->
    def unit = new CompilationUnit()
    unit.addSource(file, new File(file).getText('UTF-8'))
    unit.compile(Phases.CONVERSION)
    def result = [environment: [], credentials: []]
    visit(unit.AST.modules[0].statementBlock, null, result)
    results[file] = result
}
new File(args[0]).write(JsonOutput.toJson(results), 'UTF-8')
