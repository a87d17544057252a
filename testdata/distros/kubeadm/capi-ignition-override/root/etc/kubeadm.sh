#!/bin/bash
set -e


kubeadm join --config /etc/kubeadm.yml 
mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
mv /etc/kubeadm.yml /tmp/

