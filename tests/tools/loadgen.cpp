// Placeholder: the traffic generator lands with the census live tests.
int main()
{
  return 2;
}
