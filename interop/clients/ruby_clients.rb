#!/usr/bin/ruby
# Drive a gatehouse demonstration server with Debian's Ruby clients: the
# oauth gem signing inside rest-client exactly as apipie-bindings (the
# library under hammer) does, puppet-foreman's foreman_user pattern, and the
# oauth2 gem's password grant. Reads GH_* from the environment, prints
# "ok NAME" or "FAIL NAME: why" per check. Run by interop/interop_test.go.
require 'json'
require 'net/http'
require 'oauth'
require 'oauth/client/net_http'
require 'oauth2'
require 'rest-client'

BASE = ENV.fetch('GH_BASE')
CA = ENV.fetch('GH_CA')
KEY = ENV.fetch('GH_CONSUMER_KEY')
SECRET = ENV.fetch('GH_CONSUMER_SECRET')
$failed = false

def check(name)
  yield
  puts "ok #{name}"
rescue StandardError => e
  $failed = true
  puts "FAIL #{name}: #{e.class}: #{e.message.to_s.gsub("\n", ' ')[0, 300]}"
ensure
  $stdout.flush
end

def scheme_of(body)
  JSON.parse(body)['scheme']
end

# apipie-bindings' OAuth authenticator: a consumer made per request and
# consumer.sign!(request) from rest-client's before_execution_proc, i.e.
# before rest-client attaches the body.
RestClient.add_before_execution_proc do |request, args|
  next unless args[:apipie_oauth]
  uri = URI.parse(args[:url])
  consumer = OAuth::Consumer.new(KEY, SECRET,
                                 site: "#{uri.scheme}://#{uri.host}:#{uri.port}",
                                 request_token_path: '', authorize_path: '', access_token_path: '')
  consumer.sign!(request)
end

def hammer(method, path, body = nil)
  RestClient::Request.execute(method: method, url: BASE + path, payload: body && body.to_json,
                              headers: { content_type: :json, accept: :json, 'FOREMAN-USER' => 'admin' },
                              apipie_oauth: true, ssl_ca_file: CA, verify_ssl: OpenSSL::SSL::VERIFY_PEER)
end

{ get: nil, post: { 'host' => { 'name' => 'web01' } }, put: { 'host' => { 'name' => 'web02' } }, delete: nil }.each do |method, body|
  check("apipie-bindings oauth1 #{method.upcase} json") do
    r = hammer(method, method == :get || method == :post ? '/api/hosts' : '/api/hosts/1', body)
    raise "status #{r.code}" unless r.code == 200
    raise "scheme #{scheme_of(r.body)}" unless scheme_of(r.body) == 'oauth1'
  end
end

# puppet-foreman's rest_v3 provider: Net::HTTP, the oauth gem, and the user
# in a header spelled foreman_user.
check('puppet-foreman foreman_user') do
  uri = URI.parse(BASE + '/api/v2/hosts')
  consumer = OAuth::Consumer.new(KEY, SECRET, site: "#{uri.scheme}://#{uri.host}:#{uri.port}",
                                              request_token_path: '', authorize_path: '', access_token_path: '')
  http = Net::HTTP.new(uri.host, uri.port)
  http.use_ssl = true
  http.ca_file = CA
  req = Net::HTTP::Get.new(uri.request_uri, 'Accept' => 'application/json', 'foreman_user' => 'admin')
  req.oauth!(http, consumer, nil)
  r = http.request(req)
  raise "status #{r.code}: #{r.body}" unless r.code == '200'
  raise "scheme #{scheme_of(r.body)}" unless scheme_of(r.body) == 'oauth1'
end

check('rest-client basic') do
  r = RestClient::Request.execute(method: :get, url: BASE + '/api/status', user: 'admin', password: 'satellite-pw', ssl_ca_file: CA)
  raise "scheme #{scheme_of(r.body)}" unless scheme_of(r.body) == 'basic'
end

check('oauth2 gem password grant') do
  client = OAuth2::Client.new('ovirt-engine-sdk', '', site: BASE, token_url: '/ovirt-engine/sso/oauth/token',
                                                      ssl: { ca_file: CA })
  token = client.password.get_token('admin@internal', 'ovirt-pw', scope: 'ovirt-app-api')
  r = token.get('/ovirt-engine/api')
  raise "status #{r.status}" unless r.status == 200
  raise "scheme #{scheme_of(r.body)}" unless scheme_of(r.body) == 'oauth2'
end

exit($failed ? 1 : 0)
