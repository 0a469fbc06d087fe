using Composer.Images;

namespace Composer.Tests.Images.Registry;

public class AuthChallengeTests
{
    [Test]
    public async Task Bearer_challenge_with_quoted_commas_in_the_scope()
    {
        var challenges = AuthChallenge.Parse("""Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push" """);
        var c = challenges.Single();
        await Assert.That(c.IsBearer).IsTrue();
        await Assert.That(c["realm"]).IsEqualTo("https://auth.example.com/token");
        await Assert.That(c["service"]).IsEqualTo("registry.example.com");
        await Assert.That(c["scope"]).IsEqualTo("repository:team/app:pull,push");
    }

    [Test]
    public async Task Several_challenges_in_one_header_and_escaped_quotes()
    {
        var challenges = AuthChallenge.Parse("""Basic realm="a \"quoted\" realm", Bearer realm="https://x/t", error="insufficient_scope",scope="repository:a:pull" , Negotiate abc123==""");
        await Assert.That(challenges.Count).IsEqualTo(3);
        await Assert.That(challenges[0].IsBasic).IsTrue();
        await Assert.That(challenges[0]["realm"]).IsEqualTo("a \"quoted\" realm");
        await Assert.That(challenges[1]["error"]).IsEqualTo("insufficient_scope");
        await Assert.That(challenges[1]["SCOPE"]).IsEqualTo("repository:a:pull");
        await Assert.That(challenges[2].Scheme).IsEqualTo("Negotiate");
        await Assert.That(challenges[2][""]).IsEqualTo("abc123==");
    }

    [Test]
    public async Task Unquoted_values_and_spaces_around_equals()
    {
        var c = AuthChallenge.Parse("bearer realm = https://auth/token , service=reg").Single();
        await Assert.That(c.IsBearer).IsTrue();
        await Assert.That(c["realm"]).IsEqualTo("https://auth/token");
        await Assert.That(c["service"]).IsEqualTo("reg");
    }

    [Test]
    public async Task Bare_scheme_and_garbage_do_not_loop_or_throw()
    {
        await Assert.That(AuthChallenge.Parse("Basic").Single().Parameters.Count).IsEqualTo(0);
        await Assert.That(AuthChallenge.Parse("").Count).IsEqualTo(0);
        await Assert.That(AuthChallenge.Parse(";;; ,, Bearer realm=\"unterminated").Single(c => c.IsBearer)["realm"]).IsEqualTo("unterminated");
    }
}
