#!/usr/bin/env bash
# certs.sh makes the certificates k8s/tls/ mounts, without cert-manager, and writes them as
# Secrets into a namespace of the current kube context (minikube, kind, the kube-lab):
#   backend-tls   kubernetes.io/tls: the backend's certificate for backend-service,
#                 backend-service.<ns>, backend-service.<ns>.svc, backend-service.<ns>.svc.cluster.local
#                 (what the frontend checks: the Service's name, never a pod IP), and ca.crt
#   frontend-tls  kubernetes.io/tls: the frontend's client certificate (URI SAN
#                 spiffe://cluster.local/ns/<ns>/sa/frontend, DNS frontend; for mutual TLS later)
#                 and ca.crt, which is what the frontend checks the backend with
#   svc2svc-ingress-tls  kubernetes.io/tls, only when asked for (the argument ingress): the
#                 certificate the Ingress of k8s/ingress/ serves for INGRESS_HOST (svc2svc.local),
#                 and ca.crt; clients check it with the CA (curl --cacert .certs/ca.crt)
# The CA's key never leaves CERTS_DIR (.certs/, gitignored). Secrets are applied with
# kubectl create --dry-run=client | kubectl apply, so running it again changes nothing
# unless a certificate was (re)issued.
#
#   make certs                     # = bash scripts/certs.sh: the current namespace (or default)
#   make certs NAMESPACE=demo      # another namespace (the SANs name it)
#   make certs ROTATE=1            # new leaf keys and certificates from the same CA: a renewal
#                                  # the services pick up without a restart
#   bash scripts/certs.sh ingress  # only the Ingress's Secret (arguments name the Secrets to
#                                  # make: backend, frontend, ingress; none means backend frontend)
#
# Environment: NAMESPACE, ROTATE=1, CERTS_DIR (default .certs), DAYS (leaf lifetime, default 90),
# INGRESS_HOST (the Ingress's host name, default svc2svc.local).
# A leaf is (re)issued when it is missing, when ROTATE=1, when the CA no longer signs it, or when
# it expires within 7 days. To replace the CA itself, delete CERTS_DIR and run it again (the
# frontends then trust the new CA as soon as their files are updated, so update both at once).
set -euo pipefail
cd "$(dirname "$0")/.."

CERTS_DIR=${CERTS_DIR:-.certs}
DAYS=${DAYS:-90}
ROTATE=${ROTATE:-}
INGRESS_HOST=${INGRESS_HOST:-svc2svc.local}
# Why opt-in: the Ingress's Secret is for k8s/ingress only; make certs keeps making exactly the two
# that k8s/tls mounts.
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(backend frontend)
for name in "${wanted[@]}"; do
  case $name in
    backend | frontend | ingress) ;;
    *) echo "certs.sh: unknown certificate '$name': want backend, frontend or ingress" >&2; exit 2 ;;
  esac
done

if ! command -v openssl >/dev/null; then
  echo "openssl is missing: installing it with apt-get"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y openssl >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y openssl >/dev/null; }
fi
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
context=$(kubectl config current-context 2>/dev/null) ||
  { echo "no current kube context (the lab is not up? export KUBECONFIG=/var/lib/kube-lab/kubeconfig)" >&2; exit 1; }
NAMESPACE=${NAMESPACE:-$(kubectl config view --minify -o jsonpath='{..namespace}')}
NAMESPACE=${NAMESPACE:-default}

mkdir -p "$CERTS_DIR/$NAMESPACE"
chmod 700 "$CERTS_DIR"
ca=$CERTS_DIR/ca
dir=$CERTS_DIR/$NAMESPACE
umask 077

# Why ECDSA P-256: small, fast handshakes, and every Go TLS stack takes it.
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f "$ca.key" ] || [ ! -f "$ca.crt" ]; then
  newkey "$ca.key"
  openssl req -x509 -new -key "$ca.key" -sha256 -days 3650 -subj "/CN=svc2svc dev CA" \
    -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -out "$ca.crt"
  echo "new CA: $ca.crt ($(openssl x509 -noout -serial -in "$ca.crt"))"
fi

# issue NAME SAN EKU: a leaf NAME.key/NAME.crt in $dir signed by the CA, unless a current one is there.
issue() {
  local name=$1 san=$2 eku=$3 key=$dir/$1.key crt=$dir/$1.crt
  if [ -z "$ROTATE" ] && [ -f "$key" ] && [ -f "$crt" ] &&
    openssl verify -CAfile "$ca.crt" "$crt" >/dev/null 2>&1 &&
    openssl x509 -noout -checkend $((7 * 86400)) -in "$crt" >/dev/null; then
    echo "$name: kept $(openssl x509 -noout -serial -in "$crt")"
    return
  fi
  newkey "$key"
  openssl req -new -key "$key" -subj "/CN=$name" -out "$dir/$name.csr"
  # A random 128-bit serial: every reissue is told apart, by the services' clients and by us.
  openssl x509 -req -in "$dir/$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$DAYS" -sha256 -out "$crt" -extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' "extendedKeyUsage=$eku" "subjectAltName=$san") 2>/dev/null
  rm -f "$dir/$name.csr"
  echo "$name: issued $(openssl x509 -noout -serial -in "$crt"), $(openssl x509 -noout -ext subjectAltName -in "$crt" | tail -n +2 | tr -d ' ')"
}

svc=backend-service
secrets=()
for name in "${wanted[@]}"; do
  case $name in
    backend) issue backend "DNS:$svc,DNS:$svc.$NAMESPACE,DNS:$svc.$NAMESPACE.svc,DNS:$svc.$NAMESPACE.svc.cluster.local" serverAuth ;;
    frontend) issue frontend "URI:spiffe://cluster.local/ns/$NAMESPACE/sa/frontend,DNS:frontend" clientAuth ;;
    # Why a certificate of its own: a client of the Ingress checks the name it asked for, the host.
    # A host that changed gets a new one (a kept one must still name it).
    ingress)
      if [ -f "$dir/ingress.crt" ] &&
        [[ $(openssl x509 -noout -checkhost "$INGRESS_HOST" -in "$dir/ingress.crt" 2>&1) != *'does match'* ]]; then
        rm -f "$dir/ingress.crt"
      fi
      issue ingress "DNS:$INGRESS_HOST" serverAuth
      ;;
  esac
  secret=$name-tls
  [ "$name" != ingress ] || secret=svc2svc-ingress-tls
  kubectl create secret generic "$secret" -n "$NAMESPACE" --type=kubernetes.io/tls \
    --from-file=tls.crt="$dir/$name.crt" --from-file=tls.key="$dir/$name.key" --from-file=ca.crt="$ca.crt" \
    --dry-run=client -o yaml | kubectl apply -n "$NAMESPACE" -f -
  secrets+=("$secret")
done
echo "context $context, namespace $NAMESPACE: Secrets ${secrets[*]}; CA key in $CERTS_DIR/"
