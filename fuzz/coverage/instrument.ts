// Coverage probes for the fuzzer: rewrites a compiled module so that every block, branch arm,
// case, short-circuit operand and arrow body first calls `__fz(ID)` with an id of its own. The
// fuzzer (probes.ts) turns those calls into features; an input that reaches a new one joins the
// corpus. TypeScript's own parser and printer do the rewriting, so no extra dependency.
import ts from 'typescript';

/** The global the probes call (defined by probes.ts before any instrumented module loads). */
export const PROBE_FUNCTION = '__fz';

export interface Instrumented {
  code: string;
  /** The next free probe id (ids are unique across all modules of one run). */
  nextId: number;
}

export function instrument(source: string, fileName: string, firstId: number): Instrumented {
  let id = firstId;
  const f = ts.factory;
  const probe = () => f.createCallExpression(f.createIdentifier(PROBE_FUNCTION), undefined, [f.createNumericLiteral(id++)]);
  const probeStatement = () => f.createExpressionStatement(probe());
  const probed = (e: ts.Expression) => f.createParenthesizedExpression(f.createComma(probe(), e));
  const asBlock = (s: ts.Statement) => (ts.isBlock(s) ? s : f.createBlock([probeStatement(), s], true));
  const isShortCircuit = (k: ts.SyntaxKind) => k === ts.SyntaxKind.AmpersandAmpersandToken || k === ts.SyntaxKind.BarBarToken || k === ts.SyntaxKind.QuestionQuestionToken;

  const transformer: ts.TransformerFactory<ts.SourceFile> = (context) => {
    const visit = (node: ts.Node): ts.Node => {
      const n = ts.visitEachChild(node, visit, context);
      if (ts.isBlock(n)) return f.updateBlock(n, [probeStatement(), ...n.statements]);
      if (ts.isIfStatement(n)) {
        const otherwise = n.elseStatement && !ts.isIfStatement(n.elseStatement) ? asBlock(n.elseStatement) : n.elseStatement;
        return f.updateIfStatement(n, n.expression, asBlock(n.thenStatement), otherwise);
      }
      if (ts.isCaseClause(n)) return f.updateCaseClause(n, n.expression, [probeStatement(), ...n.statements]);
      if (ts.isDefaultClause(n)) return f.updateDefaultClause(n, [probeStatement(), ...n.statements]);
      if (ts.isForStatement(n)) return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, asBlock(n.statement));
      if (ts.isForOfStatement(n)) return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, asBlock(n.statement));
      if (ts.isForInStatement(n)) return f.updateForInStatement(n, n.initializer, n.expression, asBlock(n.statement));
      if (ts.isWhileStatement(n)) return f.updateWhileStatement(n, n.expression, asBlock(n.statement));
      if (ts.isConditionalExpression(n)) return f.updateConditionalExpression(n, n.condition, n.questionToken, probed(n.whenTrue), n.colonToken, probed(n.whenFalse));
      if (ts.isBinaryExpression(n) && isShortCircuit(n.operatorToken.kind)) return f.updateBinaryExpression(n, n.left, n.operatorToken, probed(n.right));
      if (ts.isArrowFunction(n) && !ts.isBlock(n.body)) return f.updateArrowFunction(n, n.modifiers, n.typeParameters, n.parameters, n.type, n.equalsGreaterThanToken, probed(n.body));
      return n;
    };
    return (sf) => ts.visitEachChild(sf, visit, context);
  };

  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const out = ts.transform(sf, [transformer]);
  const code = ts.createPrinter({ removeComments: true }).printFile(out.transformed[0]!);
  out.dispose();
  return { code, nextId: id };
}
