# Homebrew formula for credd, kept beside packaging/goreleaser.yaml.
# At a release, bump url and sha256 (docs/packaging.md):
#   brew bump-formula-pr --url=https://github.com/credd/credd/archive/refs/tags/vX.Y.Z.tar.gz credd
class Credd < Formula
  desc "Local AWS credential daemon: one sign-in, fresh credentials for every SDK"
  homepage "https://github.com/credd/credd"
  url "https://github.com/credd/credd/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/credd/credd.git", branch: "main"
  license "Apache-2.0"

  depends_on "go" => :build

  def install
    ldflags = %W[
      -s -w
      -X github.com/credd/credd/cmd/credd/cli.buildVersion=#{version}
      -X github.com/credd/credd/cmd/credd/cli.buildCommit=homebrew
    ]
    system "go", "build", *std_go_args(ldflags: ldflags), "./cmd/credd"
    generate_completions_from_executable(bin/"credd", "completion")
  end

  # `brew services start credd`: a LaunchAgent (macOS) or systemd user unit
  # (Linux) that runs credd at login and restarts it if it exits.
  service do
    run [opt_bin/"credd", "serve"]
    keep_alive true
    log_path var/"log/credd.log"
    error_log_path var/"log/credd.log"
  end

  def caveats
    <<~EOS
      Start credd now and at every login:
        brew services start credd
      Then point your shell at it:
        eval "$(credd env)"
    EOS
  end

  test do
    assert_match "credd #{version}", shell_output("#{bin}/credd version")
    assert_match "ok:", shell_output("#{bin}/credd config check 2>&1", 0)
  end
end
