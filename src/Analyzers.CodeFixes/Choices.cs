using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>Whether every value a choice (<c>?:</c>, <c>??</c>, switch arms) can produce is created right there (a call
/// or a <c>?.</c> call) or is null: only then may a fix dispose the whole choice. <c>b ? existing : kvm.CreateVm()</c>
/// is not such a choice: disposing it would dispose <c>existing</c>, which this code does not own.</summary>
internal static class Choices
{
    public static bool OnlyCreatedOrNull(ExpressionSyntax e)
    {
        switch (e)
        {
            case ParenthesizedExpressionSyntax p:
                return OnlyCreatedOrNull(p.Expression);
            case ConditionalExpressionSyntax c:
                return OnlyCreatedOrNull(c.WhenTrue) && OnlyCreatedOrNull(c.WhenFalse);
            case BinaryExpressionSyntax b when b.IsKind(SyntaxKind.CoalesceExpression):
                return OnlyCreatedOrNull(b.Left) && OnlyCreatedOrNull(b.Right);
            case SwitchExpressionSyntax sw:
                foreach (var arm in sw.Arms)
                    if (!OnlyCreatedOrNull(arm.Expression))
                        return false;
                return true;
            case InvocationExpressionSyntax or ConditionalAccessExpressionSyntax or ThrowExpressionSyntax:
                return true;
            case PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression } bang:
                return OnlyCreatedOrNull(bang.Operand);
            default:
                return e.IsKind(SyntaxKind.NullLiteralExpression) || e.IsKind(SyntaxKind.DefaultLiteralExpression);
        }
    }
}
