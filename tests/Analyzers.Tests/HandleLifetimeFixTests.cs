using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>KVM1006's fixes, one test per shape the rule reports (issue #15: "code fixes that always leave compiling
/// code"). Each test applies the fix and compiles the result: the fixed state must have no compiler error and no
/// KVM1006 left (the test framework fails on either).</summary>
public class HandleLifetimeFixTests
{
    [Fact]
    public Task Local_overwritten_before_disposal_is_disposed_before_the_overwrite() => Verify.Fix<HandleLifetimeRule, DisposeBeforeOverwriteCodeFix>("""
        class C
        {
            void Declared(KvmSystem kvm)
            {
                var vm = {|KVM1006:kvm.CreateVm()|};
                Console.WriteLine(vm.Type);
                vm = kvm.CreateVm();
                vm.Dispose();
            }
            void Assigned(KvmSystem kvm, bool b)
            {
                VmFd vm;
                vm = {|KVM1006:kvm.CreateVm()|};
                if (b) vm = kvm.CreateVm();
                vm.Dispose();
            }
            void Nullable(VmFd vm)
            {
                var g = vm.GuestMemfd?{|KVM1006:.Create(4096)|};
                g = vm.GuestMemfd?.Create(8192);
                g?.Dispose();
            }
        }
        """, """
        class C
        {
            void Declared(KvmSystem kvm)
            {
                var vm = kvm.CreateVm();
                Console.WriteLine(vm.Type);
                vm.Dispose();
                vm = kvm.CreateVm();
                vm.Dispose();
            }
            void Assigned(KvmSystem kvm, bool b)
            {
                VmFd vm;
                vm = kvm.CreateVm();
                if (b) { vm.Dispose(); vm = kvm.CreateVm(); }
                vm.Dispose();
            }
            void Nullable(VmFd vm)
            {
                var g = vm.GuestMemfd?.Create(4096);
                g?.Dispose();
                g = vm.GuestMemfd?.Create(8192);
                g?.Dispose();
            }
        }
        """);

    [Fact]
    public Task A_reassigned_local_gets_no_using_declaration() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                var vm = {|KVM1006:kvm.CreateVm()|};
                vm = kvm.CreateVm();
                vm.Dispose();
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                var vm = {|KVM1006:kvm.CreateVm()|};
                vm = kvm.CreateVm();
                vm.Dispose();
            }
        }
        """);

    [Fact]
    public Task Assignment_to_an_existing_local_used_only_in_its_block_is_hoisted_into_a_using() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                VmFd vm;
                vm = {|KVM1006:kvm.CreateVm()|};
                Console.WriteLine(vm.Type);
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                VmFd vm;
                using var vm2 = kvm.CreateVm();
                vm = vm2;
                Console.WriteLine(vm.Type);
            }
        }
        """);

    [Fact]
    public Task Assignment_in_a_nested_block_is_disposed_after_the_last_use() => Verify.Fix<HandleLifetimeRule, DisposeBeforeOverwriteCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, bool b)
            {
                VmFd vm = null!;
                if (b)
                {
                    vm = {|KVM1006:kvm.CreateVm()|};
                }
                Console.WriteLine(vm);
                Console.WriteLine("done");
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, bool b)
            {
                VmFd vm = null!;
                if (b)
                {
                    vm = kvm.CreateVm();
                }
                Console.WriteLine(vm);
                vm.Dispose();
                Console.WriteLine("done");
            }
        }
        """);

    [Fact]
    public Task Pattern_on_a_creation_is_hoisted() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                if ({|KVM1006:kvm.CreateVm()|} is { } f)
                    Console.WriteLine(f.Type);
                if ({|KVM1006:kvm.CreateVm()|} is VmFd g)
                    Console.WriteLine(g.Type);
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm();
                if (vm is { } f)
                    Console.WriteLine(f.Type);
                using var vm2 = kvm.CreateVm();
                if (vm2 is VmFd g)
                    Console.WriteLine(g.Type);
            }
        }
        """);

    [Fact]
    public Task A_choice_between_factories_and_a_null_conditional_create_passed_on_are_hoisted() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, VmFd vm, bool b)
            {
                Console.WriteLine(b ? {|KVM1006:kvm.CreateVm()|} : {|KVM1006:other.CreateVm()|});
                Console.WriteLine(vm.GuestMemfd?{|KVM1006:.Create(4096)|});
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, VmFd vm, bool b)
            {
                using var vm2 = b ? kvm.CreateVm() : other.CreateVm();
                Console.WriteLine(vm2);
                using var gmem = vm.GuestMemfd?.Create(4096);
                Console.WriteLine(gmem);
            }
        }
        """);

    [Fact]
    public Task Dropped_choices_null_conditional_creates_lambdas_and_arrow_bodies_are_disposed_in_place() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, VmFd vm, bool b)
            {
                _ = b ? {|KVM1006:kvm.CreateVm()|} : null;
                vm.GuestMemfd?{|KVM1006:.Create(4096)|};
                _ = vm.GuestMemfd?{|KVM1006:.Create(8192)|};
                Action a = () => {|KVM1006:kvm.CreateVm()|};
                a();
            }
            void Arrow(KvmSystem kvm) => {|KVM1006:kvm.CreateVm()|};
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, VmFd vm, bool b)
            {
                (b ? kvm.CreateVm() : null)?.Dispose();
                vm.GuestMemfd?.Create(4096).Dispose();
                vm.GuestMemfd?.Create(8192).Dispose();
                Action a = () => kvm.CreateVm().Dispose();
                a();
            }
            void Arrow(KvmSystem kvm) => kvm.CreateVm().Dispose();
        }
        """);

    [Fact]
    public Task Stored_in_a_field_of_a_non_disposable_type_makes_the_type_disposable() => Verify.Fix<HandleLifetimeRule, DisposableOwnerCodeFix>("""
        class C
        {
            VmFd? _vm;
            void M(KvmSystem kvm) { _vm = {|KVM1006:kvm.CreateVm()|}; }
        }
        class D
        {
            VmFd? Vm { get; set; }
            public void Dispose() { Console.WriteLine("bye"); }
            void M(KvmSystem kvm)
            {
                var vm = {|KVM1006:kvm.CreateVm()|};
                Vm = vm;
            }
        }
        class E
        {
            VmFd? _vm;
            public void Dispose() => Console.WriteLine("bye");
            void M(KvmSystem kvm) => _vm = {|KVM1006:kvm.CreateVm()|};
        }
        """, """
        class C : IDisposable
        {
            VmFd? _vm;
            void M(KvmSystem kvm) { _vm = kvm.CreateVm(); }
            public void Dispose() => _vm?.Dispose();
        }
        class D : IDisposable
        {
            VmFd? Vm { get; set; }
            public void Dispose() { Console.WriteLine("bye"); Vm?.Dispose(); }
            void M(KvmSystem kvm)
            {
                var vm = kvm.CreateVm();
                Vm = vm;
            }
        }
        class E : IDisposable
        {
            VmFd? _vm;
            public void Dispose() { Console.WriteLine("bye"); _vm?.Dispose(); }
            void M(KvmSystem kvm) => _vm = kvm.CreateVm();
        }
        """);

    [Fact]
    public Task Fix_all_hoists_every_creation_in_the_document_and_compiles() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, bool b)
            {
                Console.WriteLine({|KVM1006:kvm.CreateVm()|});
                Console.WriteLine({|KVM1006:KvmSystem.Open()|}.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD));
                Console.WriteLine(b ? {|KVM1006:kvm.CreateVm()|} : {|KVM1006:other.CreateVm()|});
                if ({|KVM1006:kvm.CreateVm()|} is { } f)
                    Console.WriteLine(f.Type);
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, bool b)
            {
                using var vm = kvm.CreateVm();
                Console.WriteLine(vm);
                using var kvm2 = KvmSystem.Open();
                Console.WriteLine(kvm2.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD));
                using var vm2 = b ? kvm.CreateVm() : other.CreateVm();
                Console.WriteLine(vm2);
                using var vm3 = kvm.CreateVm();
                if (vm3 is { } f)
                    Console.WriteLine(f.Type);
            }
        }
        """);

    [Fact]
    public Task Declaration_in_a_switch_section_gets_braces_and_a_using() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, int n)
            {
                switch (n)
                {
                    case 1:
                        var vm = {|KVM1006:kvm.CreateVm()|};
                        Console.WriteLine(vm.Type);
                        break;
                    default:
                        break;
                }
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, int n)
            {
                switch (n)
                {
                    case 1:
                        {
                            using var vm = kvm.CreateVm();
                            Console.WriteLine(vm.Type);
                            break;
                        }
                    default:
                        break;
                }
            }
        }
        """);

    [Fact]
    public Task Embedded_statements_and_else_if_get_braces_around_the_hoist() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, bool b, int n)
            {
                if (b)
                    Console.WriteLine({|KVM1006:kvm.CreateVm()|});
                else if ({|KVM1006:kvm.CreateVm()|} is { } f)
                    Console.WriteLine(f.Type);
                for (var i = 0; i < n; i++)
                    Console.WriteLine({|KVM1006:kvm.CreateVm()|});
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, bool b, int n)
            {
                if (b)
                {
                    using var vm = kvm.CreateVm();
                    Console.WriteLine(vm);
                }
                else
                {
                    using var vm2 = kvm.CreateVm();
                    if (vm2 is { } f)
                        Console.WriteLine(f.Type);
                }
                for (var i = 0; i < n; i++)
                {
                    using var vm3 = kvm.CreateVm();
                    Console.WriteLine(vm3);
                }
            }
        }
        """);

    [Fact]
    public Task No_fix_disposes_what_the_method_does_not_own_or_what_is_not_the_handle() => Task.WhenAll(
        Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
            class C
            {
                void M(KvmSystem kvm, VmFd existing, bool b)
                {
                    _ = b ? existing : {|KVM1006:kvm.CreateVm()|};
                    var vm = b ? existing : {|KVM1006:kvm.CreateVm()|};
                    var text = Describe({|KVM1006:kvm.CreateVm()|});
                    Console.WriteLine(vm.Type + text);
                }
                static string Describe(VmFd vm) => vm.Type.ToString();
            }
            """, """
            class C
            {
                void M(KvmSystem kvm, VmFd existing, bool b)
                {
                    _ = b ? existing : {|KVM1006:kvm.CreateVm()|};
                    var vm = b ? existing : {|KVM1006:kvm.CreateVm()|};
                    var text = Describe({|KVM1006:kvm.CreateVm()|});
                    Console.WriteLine(vm.Type + text);
                }
                static string Describe(VmFd vm) => vm.Type.ToString();
            }
            """),
        Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
            class C
            {
                void M(KvmSystem kvm, VmFd existing, bool b)
                {
                    Console.WriteLine(b ? existing : {|KVM1006:kvm.CreateVm()|});
                }
            }
            """, """
            class C
            {
                void M(KvmSystem kvm, VmFd existing, bool b)
                {
                    Console.WriteLine(b ? existing : {|KVM1006:kvm.CreateVm()|});
                }
            }
            """));

    [Fact]
    public Task A_declaration_of_several_variables_is_split_and_only_the_leaked_one_is_a_using() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            VmFd M(KvmSystem kvm)
            {
                VmFd a = {|KVM1006:kvm.CreateVm()|}, b = kvm.CreateVm();
                Console.WriteLine(a.Type);
                return b;
            }
        }
        """, """
        class C
        {
            VmFd M(KvmSystem kvm)
            {
                using VmFd a = kvm.CreateVm();
                VmFd b = kvm.CreateVm();
                Console.WriteLine(a.Type);
                return b;
            }
        }
        """);

    [Fact]
    public Task A_creation_in_an_expression_bodied_lambda_is_hoisted_into_a_block_body() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm)
            {
                Action print = () => Console.WriteLine({|KVM1006:kvm.CreateVm()|});
                Func<string> describe = () => Describe({|KVM1006:kvm.CreateVm()|});
                Func<System.Threading.Tasks.Task> later = async () => await Later({|KVM1006:kvm.CreateVm()|});
                Func<System.Threading.Tasks.Task<int>> count = async () => await Count({|KVM1006:kvm.CreateVm()|});
                print();
                Console.WriteLine(describe());
            }
            static string Describe(VmFd vm) => vm.Type.ToString();
            static System.Threading.Tasks.Task Later(VmFd vm) => System.Threading.Tasks.Task.CompletedTask;
            static System.Threading.Tasks.Task<int> Count(VmFd vm) => System.Threading.Tasks.Task.FromResult(1);
        }
        """, """
        class C
        {
            void M(KvmSystem kvm)
            {
                Action print = () => { using var vm = kvm.CreateVm(); Console.WriteLine(vm); };
                Func<string> describe = () => { using var vm = kvm.CreateVm(); return Describe(vm); };
                Func<System.Threading.Tasks.Task> later = async () => { using var vm = kvm.CreateVm(); await Later(vm); };
                Func<System.Threading.Tasks.Task<int>> count = async () => { using var vm = kvm.CreateVm(); return await Count(vm); };
                print();
                Console.WriteLine(describe());
            }
            static string Describe(VmFd vm) => vm.Type.ToString();
            static System.Threading.Tasks.Task Later(VmFd vm) => System.Threading.Tasks.Task.CompletedTask;
            static System.Threading.Tasks.Task<int> Count(VmFd vm) => System.Threading.Tasks.Task.FromResult(1);
        }
        """);

    [Fact]
    public Task Fix_all_makes_an_owner_disposable_once_for_all_its_members() => Verify.Fix<HandleLifetimeRule, DisposableOwnerCodeFix>("""
        class Machine
        {
            VmFd? _vm;
            VcpuFd? _vcpu;
            void Start(KvmSystem kvm)
            {
                _vm = {|KVM1006:kvm.CreateVm()|};
                _vcpu = {|KVM1006:_vm.CreateVcpu(0)|};
            }
        }
        """, """
        class Machine : IDisposable
        {
            VmFd? _vm;
            VcpuFd? _vcpu;
            void Start(KvmSystem kvm)
            {
                _vm = kvm.CreateVm();
                _vcpu = _vm.CreateVcpu(0);
            }
            public void Dispose() { _vm?.Dispose(); _vcpu?.Dispose(); }
        }
        """);

    [Fact]
    public Task A_dropped_choice_between_two_factories_is_disposed_once() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, bool b)
            {
                _ = b ? {|KVM1006:kvm.CreateVm()|} : {|KVM1006:other.CreateVm()|};
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, KvmSystem other, bool b)
            {
                (b ? kvm.CreateVm() : other.CreateVm())?.Dispose();
            }
        }
        """);

    [Fact]
    public Task A_for_loop_initializer_becomes_a_using_statement_around_the_loop() => Verify.Fix<HandleLifetimeRule, UsingCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, int n)
            {
                for (var vm = {|KVM1006:kvm.CreateVm()|}; n > 0; n--)
                    Console.WriteLine(vm.Type);
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, int n)
            {
                using (var vm = kvm.CreateVm())
                for (; n > 0; n--)
                    Console.WriteLine(vm.Type);
            }
        }
        """);

    [Fact]
    public Task Assignment_whose_last_use_returns_is_disposed_by_a_using_around_the_return() => Verify.Fix<HandleLifetimeRule, DisposeBeforeOverwriteCodeFix>("""
        class C
        {
            string M(KvmSystem kvm, bool b)
            {
                VmFd vm = null!;
                if (b)
                {
                    vm = {|KVM1006:kvm.CreateVm()|};
                }
                return vm.Type.ToString();
            }
        }
        """, """
        class C
        {
            string M(KvmSystem kvm, bool b)
            {
                VmFd vm = null!;
                if (b)
                {
                    vm = kvm.CreateVm();
                }
                using (vm) return vm.Type.ToString();
            }
        }
        """);

    [Fact]
    public Task No_owner_fix_when_a_partial_type_has_its_Dispose_in_another_part() => Verify.Fix<HandleLifetimeRule, DisposableOwnerCodeFix>("""
        partial class Machine
        {
            VmFd? _vm;
            void Start(KvmSystem kvm) { _vm = {|KVM1006:kvm.CreateVm()|}; }
        }
        partial class Machine
        {
            public void Dispose() { }
        }
        """, """
        partial class Machine
        {
            VmFd? _vm;
            void Start(KvmSystem kvm) { _vm = {|KVM1006:kvm.CreateVm()|}; }
        }
        partial class Machine
        {
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task No_dispose_is_inserted_where_the_local_is_not_definitely_assigned() => Verify.Fix<HandleLifetimeRule, DisposeBeforeOverwriteCodeFix>("""
        class C
        {
            void M(KvmSystem kvm, bool b)
            {
                VmFd vm;
                if (b)
                {
                    vm = {|KVM1006:kvm.CreateVm()|};
                }
            }
        }
        """, """
        class C
        {
            void M(KvmSystem kvm, bool b)
            {
                VmFd vm;
                if (b)
                {
                    vm = {|KVM1006:kvm.CreateVm()|};
                }
            }
        }
        """);

    [Fact]
    public Task A_creation_in_an_expression_bodied_method_is_hoisted_into_a_block_body() => Verify.Fix<HandleLifetimeRule, HoistUsingCodeFix>("""
        class C
        {
            int Slots(KvmSystem kvm) => {|KVM1006:kvm.CreateVm()|}.Memslots.MaxSlots;
            void Print(KvmSystem kvm) => Console.WriteLine({|KVM1006:kvm.CreateVm()|});
        }
        """, """
        class C
        {
            int Slots(KvmSystem kvm) { using var vm = kvm.CreateVm(); return vm.Memslots.MaxSlots; }
            void Print(KvmSystem kvm) { using var vm = kvm.CreateVm(); Console.WriteLine(vm); }
        }
        """);
}
