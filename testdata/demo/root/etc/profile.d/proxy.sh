# Added by a provisioning script that meant to re-read the environment.
export http_proxy=http://10.0.0.1:3128
. /etc/profile
